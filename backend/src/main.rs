//! `holded-hubspot`: see `holded-hubspot --help`.

#[tokio::main]
async fn main() {
    std::process::exit(holded_hubspot::cli::run().await);
}
