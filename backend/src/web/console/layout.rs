//! The console's frame: the HTML document (Spanish, landmarks, a skip link,
//! the served stylesheet), the navigation, and small shared pieces (times,
//! notices, one-button forms).

use actix_web::{
    HttpResponse, HttpResponseBuilder,
    http::{StatusCode, header},
};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::{CONSOLE_PATH, csrf, session::Session};
use crate::web::page;

/// Time zone the console shows times in (the operator's; each portal's own
/// zone is shown on its row).
const DISPLAY_TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::Madrid;

/// An HTML response with `status`.
pub fn html_response(status: StatusCode, page: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// A 303 to `location`: the answer to a form POST (post, redirect, get) and
/// to a page asked for without a session.
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, location));
    response
}

/// The document around `content` (`header` and `main` inside `body`).
fn document(title: &str, header: Markup, content: Markup) -> Markup {
    page::document(
        &format!("{title} · Consola"),
        html! { link rel="stylesheet" href={ (CONSOLE_PATH) "/console.css" }; },
        html! {
            a.skip href="#contenido" { "Saltar al contenido" }
            (header)
            main #contenido tabindex="-1" {
                (content)
            }
        },
    )
}

/// A page outside a session (login, errors): the brand and `body`.
pub fn plain_page(title: &str, body: Markup) -> Markup {
    let header = html! {
        header.top { span.brand { "Holded ⇄ HubSpot · Consola" } }
    };
    document(title, header, html! { h1 { (title) } (body) })
}

/// The pages of one portal, in the order of its tab bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortalTab {
    /// Its settings.
    Settings,
    /// Its sync runs and failed records.
    Runs,
    /// Its document requests (HubSpot deal → Holded document).
    Documents,
    /// Its audit log.
    Audit,
}

impl PortalTab {
    /// The tab bar.
    const ALL: [Self; 4] = [Self::Settings, Self::Runs, Self::Documents, Self::Audit];

    fn label(self) -> &'static str {
        match self {
            Self::Settings => "Configuración",
            Self::Runs => "Ejecuciones",
            Self::Documents => "Documentos",
            Self::Audit => "Auditoría",
        }
    }

    /// The tab's address for `portal_id`.
    pub fn href(self, portal_id: i64) -> String {
        let page = match self {
            Self::Settings => "settings",
            Self::Runs => "runs",
            Self::Documents => "documents",
            Self::Audit => "audit",
        };
        format!("{CONSOLE_PATH}/portals/{portal_id}/{page}")
    }
}

/// Where a page sits in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The list of portals.
    Portals,
    /// The audit log of every portal.
    Audit,
    /// One tab of one portal.
    Portal(i64, PortalTab),
}

fn current(active: bool) -> Option<&'static str> {
    active.then_some("page")
}

/// A signed-in page answered with `status`: the navigation (with the logout
/// button), then, on a portal's pages, the portal's tabs, then `body` under
/// the heading `title`.
pub fn console_page(
    status: StatusCode,
    session: &Session,
    section: Section,
    title: &str,
    body: Markup,
) -> HttpResponse {
    let header = html! {
        header.top {
            span.brand { "Holded ⇄ HubSpot · Consola" }
            nav aria-label="Principal" {
                ul {
                    li { a href=(CONSOLE_PATH) aria-current=[current(matches!(section, Section::Portals | Section::Portal(..)))] { "Portales" } }
                    li { a href={ (CONSOLE_PATH) "/audit" } aria-current=[current(section == Section::Audit)] { "Auditoría" } }
                }
            }
            (post_button(session, &format!("{CONSOLE_PATH}/logout"), "Cerrar sesión", &[], "secondary"))
        }
    };
    let content = html! {
        @if let Section::Portal(portal_id, tab) = section {
            p.crumbs { a href=(CONSOLE_PATH) { "Portales" } " › Portal " (portal_id) }
            nav.tabs aria-label={ "Portal " (portal_id) } {
                ul {
                    @for each in PortalTab::ALL {
                        li { a href=(each.href(portal_id)) aria-current=[current(each == tab)] { (each.label()) } }
                    }
                }
            }
        }
        h1 { (title) }
        (body)
    };
    html_response(status, document(title, header, content))
}

/// A table's header row, one column header per name.
pub fn column_headers(names: &[&str]) -> Markup {
    html! {
        thead {
            tr {
                @for name in names { th scope="col" { (name) } }
            }
        }
    }
}

/// A form with one button that POSTs `fields` (and the CSRF token) to `action`.
pub fn post_button(
    session: &Session,
    action: &str,
    label: &str,
    fields: &[(&str, String)],
    class: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf::hidden_field(session))
            @for (name, value) in fields {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" class=(class) { (label) }
        }
    }
}

/// An action that redirects to a page showing its confirmation
/// (post, redirect, get: reloading the page does not repeat the action).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Settings saved.
    Saved,
    /// "Sincronizar ahora".
    SyncQueued,
    /// "Reintentar".
    RetryQueued,
    /// "Reintentar" on a document request.
    DocumentQueued,
}

impl Done {
    const ALL: [Self; 4] = [
        Self::Saved,
        Self::SyncQueued,
        Self::RetryQueued,
        Self::DocumentQueued,
    ];

    /// The `?hecho=` value.
    fn key(self) -> &'static str {
        match self {
            Self::Saved => "guardado",
            Self::SyncQueued => "sincronizacion",
            Self::RetryQueued => "reintento",
            Self::DocumentQueued => "documento",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::Saved => "Configuración guardada.",
            Self::SyncQueued => {
                "Sincronización en cola: empezará en unos segundos. Recarga la página para ver cómo va."
            }
            Self::RetryQueued => {
                "Reintento en cola: la ejecución que empieza en unos segundos vuelve a enviar a HubSpot lo que pediste reintentar, aunque no haya cambiado en Holded. Recarga la página para ver el resultado."
            }
            Self::DocumentQueued => {
                "Documento en cola: se vuelve a intentar en Holded en unos segundos. Recarga la página para ver el resultado."
            }
        }
    }

    /// A 303 to `path` that shows this confirmation there.
    pub fn redirect(self, path: &str) -> HttpResponse {
        see_other(&format!("{path}?hecho={}", self.key())).finish()
    }
}

/// The `?hecho=` a page was reached with.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    hecho: Option<String>,
}

impl DoneQuery {
    /// The confirmation to show, if the page was reached after an action.
    pub fn notice(&self) -> Markup {
        let done = Done::ALL
            .into_iter()
            .find(|done| self.hecho.as_deref() == Some(done.key()));
        html! {
            @if let Some(done) = done {
                p.notice role="status" { (done.message()) }
            }
        }
    }
}

/// A point in time, readable (Madrid time) and machine-readable.
pub fn when(at: DateTime<Utc>) -> Markup {
    let local = at.with_timezone(&DISPLAY_TIME_ZONE);
    html! { time datetime=(at.to_rfc3339()) { (local.format("%d/%m/%Y %H:%M %Z")) } }
}

/// [`when`], or a dash.
pub fn when_or_dash(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => when(at),
        None => html! { "—" },
    }
}

/// How long a run took ("en curso" while it runs).
pub fn duration(started: DateTime<Utc>, finished: Option<DateTime<Utc>>) -> String {
    let Some(finished) = finished else {
        return "en curso".to_owned();
    };
    let seconds = (finished - started).num_milliseconds().max(0) as f64 / 1000.0;
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = seconds.round() as i64;
        format!("{} min {} s", whole / 60, whole % 60)
    }
}
