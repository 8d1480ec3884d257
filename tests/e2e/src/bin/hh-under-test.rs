//! The `holded-hubspot` service, built inside the e2e package so that the
//! end-to-end tests can start it as a real process (`CARGO_BIN_EXE_hh-under-test`).
//! It is the same program as `backend/src/main.rs`.

#[tokio::main]
async fn main() {
    std::process::exit(holded_hubspot::cli::run().await);
}
