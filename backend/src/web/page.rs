//! The HTML frame of the pages we serve (the install result, and the operator
//! console's, which add their own layout): Spanish, accessible, readable
//! without JavaScript.

use maud::{DOCTYPE, Markup, html};

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1f2933}\
h1{font-size:1.6rem}main{margin-top:1rem}.ok{color:#0b6e4f}.error{color:#b42318}\
ul{padding-left:1.2rem}a{color:#0b5cad}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d9dee3}";

/// A complete document titled `title` (the product's name appended), with
/// `head` (styles) and `body`.
pub fn document(title: &str, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="es" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Holded ⇄ HubSpot" }
                (head)
            }
            body { (body) }
        }
    }
}

/// A complete page with `title` and `body`.
pub fn page(title: &str, body: Markup) -> Markup {
    document(
        title,
        html! { style { (maud::PreEscaped(STYLE)) } },
        html! {
            header { strong { "Holded ⇄ HubSpot" } }
            main { h1 { (title) } (body) }
        },
    )
}
