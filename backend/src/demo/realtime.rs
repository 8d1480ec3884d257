//! The real-time step: the Holded webhook set up as the settings page
//! explains it — the portal's endpoint added in the simulated Holded with the
//! events to tick, its signing secret saved through the settings API — then
//! the invoice the demo made from a deal approved and half paid in Holded, as
//! a user would, and its deal followed in HubSpot until it shows both.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{
    environment::Environment,
    install::InstalledPortal,
    seed::SeededHolded,
    settings::{hubspot_fetch, settings_update},
};
use crate::deals::money::format_amount;

/// How long the step waits for the deal.
const PATIENCE: Duration = Duration::from_secs(30);

/// Connects the webhook, approves and half pays the demo's invoice in
/// Holded, and waits until its deal shows it.
pub async fn follow_invoice(
    env: &Environment,
    portal: &InstalledPortal,
    holded: &SeededHolded,
) -> anyhow::Result<()> {
    let service = &env.service;
    let page = hubspot_fetch(service, Method::GET, portal, None).await?;
    let hook = &page["holdedWebhook"];
    let url = hook["url"]
        .as_str()
        .context("la página de configuración no muestra la dirección del webhook")?;
    let events: Vec<String> = hook["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let account = &holded.account.account_id;
    let webhook = env
        .sims
        .holded
        .register_webhook(account, url, &events)
        .map_err(|why| anyhow::anyhow!("Holded no aceptó el webhook: {why}"))?;
    let mut update = settings_update(holded);
    if let Some(fields) = update.as_object_mut() {
        fields.remove("holdedApiKey");
        fields.insert("holdedWebhookSecret".to_owned(), webhook.secret.into());
    }
    hubspot_fetch(service, Method::PUT, portal, Some(&update)).await?;
    println!(
        "   ✔ Webhook de Holded con {} eventos y su secreto de firma guardado (Holded webhook set up): {url}",
        events.len()
    );

    let invoice = env
        .sims
        .holded
        .documents(account)
        .into_iter()
        .find(|d| d.doc_type.v1() == "invoice" && d.draft)
        .context("no hay factura en borrador creada desde un negocio")?;
    let started = Instant::now();
    let approved = env
        .sims
        .holded
        .approve_document(account, &invoice.id)
        .context("Holded no aprobó la factura")?;
    let half = (approved.totals().total / Decimal::TWO).round_dp(2);
    env.sims
        .holded
        .pay_document(account, &invoice.id, half, Utc::now().date_naive())
        .map_err(|why| anyhow::anyhow!("Holded no registró el cobro: {why}"))?;
    println!(
        "   ✔ En Holded: factura {} aprobada y cobro de {} registrado (invoice approved and half paid in Holded)",
        approved.number,
        format_amount(half, "EUR")
    );
    let deal = loop {
        anyhow::ensure!(
            started.elapsed() < PATIENCE,
            "el negocio de la factura no cambió en {} s / the invoice's deal did not change in time",
            PATIENCE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(deal) = deal_of(env, portal.id, &invoice.id)
            .filter(|d| d["holded_estado_documento"] == "cobrada_parcialmente")
        {
            break deal;
        }
    };
    let seconds = format!("{:.1}", started.elapsed().as_secs_f64()).replace('.', ",");
    let amount = |name: &str| {
        deal[name]
            .as_str()
            .and_then(|v| v.parse::<Decimal>().ok())
            .map(|v| format_amount(v, "EUR"))
            .unwrap_or_default()
    };
    println!(
        "   ✔ En HubSpot a los {seconds} s: número {}, cobrada parcialmente, {} cobrados, {} pendientes (the deal shows it)",
        deal["holded_numero_documento"].as_str().unwrap_or_default(),
        amount("holded_importe_cobrado"),
        amount("holded_importe_pendiente"),
    );
    Ok(())
}

/// The properties of the HubSpot deal of Holded document `holded_id`.
fn deal_of(env: &Environment, portal_id: i64, holded_id: &str) -> Option<Value> {
    let dump = env.sims.hubspot.dump(u64::try_from(portal_id).ok()?)?;
    dump["records"]["deals"]
        .as_array()?
        .iter()
        .map(|d| &d["properties"])
        .find(|p| p["holded_id"] == holded_id)
        .cloned()
}
