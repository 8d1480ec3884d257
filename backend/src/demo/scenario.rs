//! The demo's steps, in order. Each step is announced when it starts and, if
//! it fails, named in one Spanish + English line; a step's own module prints
//! what it did.

use std::fmt;

use super::{
    deals::{self, DemoDeal},
    documents::{self, DemoDocument},
    environment::{self, Environment},
    install, nightly, realtime,
    seed::{self, SeededHolded},
    settings,
};
use crate::{config::ConfigArgs, sync::SyncReport};

/// One step of the demo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start the Holded and HubSpot simulators.
    StartSimulators,
    /// Start the service against them.
    StartService,
    /// Install the app in a new portal through the OAuth redirects.
    InstallApp,
    /// Seed a Spanish company's data in Holded.
    SeedHolded,
    /// Save the settings through the signed settings API.
    SaveSettings,
    /// Run the nightly Holded → HubSpot sync.
    NightlySync,
    /// Seed deals in HubSpot, ready to become Holded documents.
    SeedDeals,
    /// Move the deals into their trigger stages: the documents are created in Holded.
    CreateDocuments,
    /// Connect Holded's webhook, approve and half pay the invoice in Holded,
    /// and follow its deal in HubSpot.
    FollowInvoice,
}

impl Step {
    /// What the step does, in Spanish and in English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::StartSimulators => (
                "arrancar los simuladores de Holded y HubSpot",
                "start the Holded and HubSpot simulators",
            ),
            Self::StartService => ("arrancar el servicio", "start the service"),
            Self::InstallApp => (
                "instalar la app en un portal de HubSpot (OAuth)",
                "install the app in a HubSpot portal (OAuth)",
            ),
            Self::SeedHolded => (
                "crear los datos de una empresa española en Holded",
                "seed a Spanish company's data in Holded",
            ),
            Self::SaveSettings => (
                "guardar la configuración (peticiones firmadas como hubspot.fetch)",
                "save the settings (requests signed like hubspot.fetch)",
            ),
            Self::NightlySync => (
                "sincronización nocturna Holded → HubSpot",
                "nightly Holded → HubSpot sync",
            ),
            Self::SeedDeals => (
                "crear negocios en HubSpot para convertirlos en documentos de Holded",
                "seed HubSpot deals to become Holded documents",
            ),
            Self::CreateDocuments => (
                "mover los negocios a su etapa: Holded crea presupuesto, proforma, albarán y factura",
                "move the deals to their stages: Holded creates estimate, proforma, delivery note and invoice",
            ),
            Self::FollowInvoice => (
                "conectar el webhook de Holded, aprobar y cobrar la mitad de la factura en Holded, y verlo en el negocio",
                "connect Holded's webhook, approve and half pay the invoice in Holded, and see it on the deal",
            ),
        }
    }
}

/// A step that failed, and why.
#[derive(Debug)]
pub struct StepFailed {
    /// The step.
    pub step: Step,
    /// The cause.
    pub error: anyhow::Error,
}

impl fmt::Display for StepFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (spanish, english) = self.step.label();
        write!(
            f,
            "✘ La demo falló en el paso «{spanish}» / the demo failed at step “{english}”: {:#}",
            self.error
        )
    }
}

/// What the scenario produced, for the summary.
pub struct Outcome {
    /// The demo portal's hub id.
    pub portal_id: i64,
    /// What was seeded in Holded.
    pub holded: SeededHolded,
    /// The nightly sync's report.
    pub sync: SyncReport,
    /// The deals seeded in HubSpot.
    pub deals: Vec<DemoDeal>,
    /// Their Holded documents.
    pub documents: Vec<DemoDocument>,
}

/// Announces `step`, runs `work`, and names the step if it fails.
async fn step<T>(
    step: Step,
    work: impl Future<Output = anyhow::Result<T>>,
) -> Result<T, StepFailed> {
    let (spanish, english) = step.label();
    println!("▸ {} / {english}", capitalised(spanish));
    work.await.map_err(|error| StepFailed { step, error })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Runs every step in order: the environment, then the scenario against it.
pub async fn run(
    args: ConfigArgs,
    bind: Option<String>,
) -> Result<(Environment, Outcome), StepFailed> {
    let sims = step(Step::StartSimulators, environment::start_simulators()).await?;
    let service = step(
        Step::StartService,
        environment::start_service(args, bind, &sims),
    )
    .await?;
    let env = Environment { sims, service };
    let portal = step(Step::InstallApp, install::install_portal(&env)).await?;
    let portal_id = portal.id;
    let holded = step(Step::SeedHolded, async { seed::seed_holded(&env) }).await?;
    step(
        Step::SaveSettings,
        settings::save_settings(&env.service, &portal, &holded),
    )
    .await?;
    let sync = step(
        Step::NightlySync,
        nightly::run_nightly_sync(&env.service, portal_id, &holded),
    )
    .await?;
    let deals = step(Step::SeedDeals, async {
        deals::seed_deals(&env, portal_id)
    })
    .await?;
    let documents = step(
        Step::CreateDocuments,
        documents::create_documents(&env, portal_id, &deals),
    )
    .await?;
    step(
        Step::FollowInvoice,
        realtime::follow_invoice(&env, &portal, &holded),
    )
    .await?;
    let outcome = Outcome {
        portal_id,
        holded,
        sync,
        deals,
        documents,
    };
    Ok((env, outcome))
}
