//! The deal → document flow for one request: claim it, make sure the Holded
//! contact exists, make sure the document exists (looking before creating
//! again), write the result back to the deal, and tell the story on its
//! timeline. Every state change is saved before the next step, so a crash at
//! any point resumes without a second document.

use std::{panic::AssertUnwindSafe, str::FromStr, time::Duration};

use futures::FutureExt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{
    ORIGIN_KIND,
    deal::{AssociateTo, Deal, associated_record, line_items, read_deal},
    document::{self, Draft, find_created, reference},
    error::DealError,
    lines::{TaxCatalogue, amount_line, cents, document_lines},
    money::format_amount,
    party::{PartyContext, ensure_party},
    timeline::{Step, Timeline, TimelineChannel},
};
use crate::{
    contact_index::ContactIndex,
    crypto::Cipher,
    holded::{DocumentType, HoldedApi, HoldedClient, HoldedError},
    hubspot::{Hubspot, HubspotError, ObjectType, PortalClient, Properties},
    lease::Heartbeat,
    quota::{Paused, Quota},
    schedule::portal_time_zone,
    settings::{DEFAULT_TAX, DocumentMapping, HoldedAccess},
    store::{
        PortalStatus, RequestState, RequestTrigger, Store,
        document_requests::FailOutcome,
        entities::{document_request, portal, webhook_event},
        links::LinkWrite,
        portal_tokens::portal_client,
    },
    sync::{
        billing::state_of,
        content_hash,
        mapping::{created_document_properties, document_link},
    },
};

/// Transient failures are tried again this many times (over about a day)
/// before the request is marked failed.
pub const MAX_ATTEMPTS: i32 = 12;

/// The least wait after a failure that left a create in doubt.
pub const IN_DOUBT_WAIT: chrono::Duration = chrono::Duration::seconds(30);

/// How much earlier than a webhook's `occurredAt` HubSpot's history may date
/// the same stage change (two clocks of HubSpot's).
pub const EVENT_CLOCK_TOLERANCE: chrono::Duration = chrono::Duration::seconds(5);

/// When a stage change whose deal could not be read (HubSpot failing for
/// now) is tried again.
pub const EVENT_RETRY: chrono::Duration = chrono::Duration::seconds(10);

/// How long to wait before attempt `attempts + 1` after a transient failure.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let seconds = match attempts {
        ..=1 => 5,
        2 => 15,
        3 => 30,
        4 => 60,
        5 => 300,
        6 => 900,
        7 => 1_800,
        _ => 3_600,
    };
    chrono::Duration::seconds(seconds)
}

/// How a request's turn ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Another worker holds it, or it needs nothing.
    Skipped,
    /// The document exists and the deal says so.
    Created,
    /// Waits for another attempt at the given time.
    Retrying(DateTime<Utc>),
    /// Waits for the rep, with this message.
    Failed(String),
}

/// What a stored webhook event says happened: the stage the deal moved into
/// (`propertyValue`), and when.
struct StageChange {
    stage: Option<String>,
    occurred_at: DateTime<Utc>,
}

impl StageChange {
    fn of(event: &webhook_event::Model) -> Self {
        let payload: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
        Self {
            stage: payload["propertyValue"].as_str().map(str::to_owned),
            occurred_at: event.occurred_at,
        }
    }
}

/// Whether a portal can be worked on now.
enum Readiness {
    /// Connected (its HubSpot access may still be failing for now).
    Ready(Box<portal::Model>),
    /// Its install has not completed: work waits.
    NotYet,
    /// Unknown or disconnected: nothing is done for it.
    Gone,
}

/// Runs the flow; cheap to clone.
#[derive(Clone, Debug)]
pub struct DealFlow {
    store: Store,
    cipher: Cipher,
    hubspot: Hubspot,
    holded: HoldedAccess,
    timeline: TimelineChannel,
}

impl DealFlow {
    /// A flow over the app's HubSpot client (portal tokens opened with
    /// `cipher`) and the portals' Holded accounts through `holded`, writing
    /// the timeline as `timeline` says.
    pub fn new(
        store: Store,
        cipher: Cipher,
        hubspot: Hubspot,
        holded: HoldedAccess,
        timeline: TimelineChannel,
    ) -> Self {
        Self {
            store,
            cipher,
            hubspot,
            holded,
            timeline,
        }
    }

    /// A stored deal-stage change (webhook event `event_id`): if the deal is
    /// now in the stage mapped to its document type, opens that request and
    /// works on it. Anything else finishes quietly. The event is marked
    /// handled once the request is stored (or nothing is to be done); a
    /// transient HubSpot failure leaves it for the sweeper.
    pub async fn on_stage_change(
        &self,
        portal_id: i64,
        deal_id: &str,
        event_id: i64,
    ) -> Result<Outcome, sea_orm::DbErr> {
        let portal = match self.portal_readiness(portal_id).await? {
            Readiness::Ready(portal) => *portal,
            // Kept: the sweeper queues it again until the install completes.
            Readiness::NotYet => return Ok(Outcome::Skipped),
            Readiness::Gone => {
                self.store.mark_webhook_processed(event_id).await?;
                return Ok(Outcome::Skipped);
            }
        };
        let client = self.portal_client(portal.id);
        let deal = match read_deal(&client, deal_id).await {
            Ok(deal) => deal,
            Err(DealError::Database(err)) => return Err(err),
            Err(DealError::Transient(why)) => {
                tracing::warn!(portal_id, deal_id, reason = %why, "deal unreadable for now; the event will be retried");
                self.store
                    .retry_webhook_event_in(event_id, EVENT_RETRY)
                    .await?;
                return Ok(Outcome::Skipped);
            }
            Err(other) => {
                tracing::info!(portal_id, deal_id, reason = %other, "stage change of a deal that cannot be read; ignored");
                self.store.mark_webhook_processed(event_id).await?;
                return Ok(Outcome::Skipped);
            }
        };
        let change = self
            .store
            .webhook_event(event_id)
            .await?
            .map(|event| StageChange::of(&event));
        let Some(doc_type) = self.triggered_type(&portal, &deal, change).await? else {
            self.store.mark_webhook_processed(event_id).await?;
            return Ok(Outcome::Skipped);
        };
        let request = self
            .store
            .open_document_request(
                portal.id,
                &deal.id,
                doc_type.v1_name(),
                RequestTrigger::Stage,
            )
            .await?;
        self.store.mark_webhook_processed(event_id).await?;
        self.run(request.id, Some(deal)).await
    }

    /// The document type a stage change triggers, if any: it moved the deal
    /// into the stage mapped to the deal's type (in that pipeline), and
    /// HubSpot's stage history confirms the deal entered that stage then or
    /// later — so a deal that passed through the stage (or whose webhook came
    /// late) gets its document, and an event that does not match what
    /// happened (forged, or about another stage) makes none.
    async fn triggered_type(
        &self,
        portal: &portal::Model,
        deal: &Deal,
        change: Option<StageChange>,
    ) -> Result<Option<DocumentType>, sea_orm::DbErr> {
        let (Some(doc_type), Some(change)) = (deal.document_type, change) else {
            return Ok(None);
        };
        let settings = self
            .store
            .portal_settings(portal.id, &portal.time_zone)
            .await?;
        let mapping = DocumentMapping::from_json(&settings.document_mapping);
        let since = change.occurred_at - EVENT_CLOCK_TOLERANCE;
        let entered = mapping.stage(doc_type).is_some_and(|stage| {
            deal.pipeline.as_deref() == Some(stage.pipeline_id.as_str())
                && change.stage.as_deref() == Some(stage.stage_id.as_str())
                && deal.entered_since(&stage.stage_id, since)
        });
        Ok(entered.then_some(doc_type))
    }

    async fn portal_readiness(&self, portal_id: i64) -> Result<Readiness, sea_orm::DbErr> {
        Ok(match self.store.portal(portal_id).await? {
            Some(p) if p.status == PortalStatus::Connected.as_str() => {
                Readiness::Ready(Box::new(p))
            }
            Some(p) if p.status == PortalStatus::Installing.as_str() => Readiness::NotYet,
            _ => Readiness::Gone,
        })
    }

    fn portal_client(&self, portal_id: i64) -> PortalClient {
        portal_client(&self.hubspot, &self.store, &self.cipher, portal_id)
    }

    /// Works on request `id` if no other worker does: to `created`, to a
    /// later attempt, or to `failed` with a Spanish message for the rep.
    pub async fn run_request(&self, id: i64) -> Result<Outcome, sea_orm::DbErr> {
        self.run(id, None).await
    }

    /// [`Self::run_request`], with the deal when it was just read (the
    /// stage change that opened the request): read once, not twice.
    async fn run(&self, id: i64, deal: Option<Deal>) -> Result<Outcome, sea_orm::DbErr> {
        let Some(request) = self.store.claim_document_request(id).await? else {
            return Ok(Outcome::Skipped);
        };
        // Renews the lease while this worker works; stops however the work ends.
        let (store, id, attempts) = (self.store.clone(), request.id, request.attempts);
        let _heartbeat = Heartbeat::start("document request", Duration::from_secs(15), move || {
            let store = store.clone();
            async move { store.renew_document_request_lease(id, attempts).await }
        });
        let (portal, result) = match self.portal_readiness(request.portal_id).await? {
            Readiness::Ready(portal) => (Some(*portal), Ok(())),
            Readiness::NotYet => (
                None,
                Err(DealError::Transient(
                    "La instalación de la app en este portal de HubSpot aún no ha terminado."
                        .to_owned(),
                )),
            ),
            Readiness::Gone => (
                None,
                Err(DealError::Permanent(
                    "La app está desconectada de este portal de HubSpot: vuelve a instalarla."
                        .to_owned(),
                )),
            ),
        };
        let mut work = request;
        let result = match (&portal, result) {
            (Some(portal), Ok(())) => {
                // A bug must fail this one request, not requeue it forever.
                let advanced = AssertUnwindSafe(self.advance(portal, &mut work, deal))
                    .catch_unwind()
                    .await;
                advanced.unwrap_or_else(|_| {
                    tracing::error!(request = work.id, "the deal flow panicked; the request is failed");
                    Err(DealError::Permanent(
                        "Error interno al preparar el documento. Avisa al soporte y pulsa Reintentar."
                            .to_owned(),
                    ))
                })
            }
            (_, result) => result,
        };
        let attempts = work.attempts - work.attempts_at_open;
        match result {
            Ok(()) => Ok(Outcome::Created),
            Err(DealError::LeaseLost) => Ok(Outcome::Skipped),
            Err(DealError::QuotaSpent) => {
                self.wait_for_quota(work, Paused::refused(Utc::now())).await
            }
            Err(DealError::Paused(paused)) => self.wait_for_quota(work, paused).await,
            Err(DealError::Database(err)) => Err(err),
            Err(DealError::Transient(why)) if attempts < MAX_ATTEMPTS => {
                let at = Utc::now() + retry_wait(&work);
                tracing::warn!(request = work.id, attempts, reason = %why, retry_at = %at, "document request will be retried");
                work.error = Some(why);
                work.next_attempt_at = Some(at);
                work.lease_until = None;
                Ok(if self.store.save_document_request(work).await? {
                    Outcome::Retrying(at)
                } else {
                    Outcome::Skipped
                })
            }
            Err(
                DealError::Transient(why)
                | DealError::Permanent(why)
                | DealError::DealNotFound(why),
            ) => {
                let message = if attempts >= MAX_ATTEMPTS {
                    format!("{why} (tras {attempts} intentos; pulsa Reintentar)")
                } else {
                    why
                };
                self.fail(portal.as_ref(), work, &message).await?;
                Ok(Outcome::Failed(message))
            }
        }
    }

    /// Leaves the request waiting for next month, when Holded's quota is
    /// whole again; the turn does not count as an attempt.
    async fn wait_for_quota(
        &self,
        mut work: document_request::Model,
        paused: Paused,
    ) -> Result<Outcome, sea_orm::DbErr> {
        tracing::info!(request = work.id, until = %paused.until, "Holded's monthly quota is spent; the request waits");
        work.error = Some(paused.message);
        work.next_attempt_at = Some(paused.until);
        work.lease_until = None;
        work.attempts_at_open += 1;
        Ok(if self.store.save_document_request(work).await? {
            Outcome::Retrying(paused.until)
        } else {
            Outcome::Skipped
        })
    }

    /// Marks the request failed and tells the rep on the deal (best effort:
    /// HubSpot may be what failed).
    async fn fail(
        &self,
        portal: Option<&portal::Model>,
        mut work: document_request::Model,
        message: &str,
    ) -> Result<(), sea_orm::DbErr> {
        tracing::info!(request = work.id, deal = %work.deal_id, reason = message, "document request failed");
        work.state = RequestState::Failed.as_str().to_owned();
        work.error = Some(message.to_owned());
        work.next_attempt_at = None;
        work.lease_until = None;
        let deal_id = work.deal_id.clone();
        let request_id = work.id;
        match self.store.fail_document_request(work).await? {
            FailOutcome::Failed => {}
            FailOutcome::Reopened => {
                tracing::info!(
                    request = request_id,
                    "a new trigger came during the attempt; opened again"
                );
                return Ok(());
            }
            FailOutcome::LeaseLost => return Ok(()),
        }
        let Some(portal) = portal else {
            return Ok(());
        };
        let client = self.portal_client(portal.id);
        let mut properties = Properties::new();
        properties.insert("holded_estado_sync".to_owned(), "error".to_owned());
        properties.insert("holded_error".to_owned(), truncate(message, 1_000));
        if let Err(err) = client
            .update_object(ObjectType::Deals, &deal_id, &properties)
            .await
        {
            tracing::warn!(deal = %deal_id, error = %err, "could not mark the deal with the error");
        }
        let step = Step {
            deal_id,
            title: format!("Error: {message}"),
            detail: None,
            link: None,
            ok: false,
        };
        self.tell(&client, &step, request_id).await;
        Ok(())
    }

    async fn tell(&self, client: &PortalClient, step: &Step, request_id: i64) {
        let timeline = Timeline {
            channel: &self.timeline,
            client,
            store: &self.store,
        };
        if let Err(err) = timeline.write(step, Some(request_id)).await {
            tracing::warn!(deal = %step.deal_id, error = %err, "could not write the timeline step");
        }
    }

    async fn save(&self, work: &document_request::Model) -> Result<(), DealError> {
        if self.store.save_document_request(work.clone()).await? {
            Ok(())
        } else {
            Err(DealError::LeaseLost)
        }
    }

    /// What a request's turn works with: the portal's settings, Holded with
    /// its key, HubSpot as the portal, and the deal as it is now (`read`,
    /// when it was just read).
    async fn context(
        &self,
        portal: &portal::Model,
        deal_id: &str,
        read: Option<Deal>,
    ) -> Result<Context, DealError> {
        let settings = self
            .store
            .portal_settings(portal.id, &portal.time_zone)
            .await?;
        let holded = self.holded.stored_client(&settings)?;
        let hubspot = self.portal_client(portal.id);
        let deal = match read {
            Some(deal) => deal,
            None => read_deal(&hubspot, deal_id).await?,
        };
        Ok(Context {
            today: Utc::now()
                .with_timezone(&portal_time_zone(&portal.time_zone))
                .date_naive(),
            default_tax: settings
                .default_tax
                .clone()
                .unwrap_or_else(|| DEFAULT_TAX.to_owned()),
            sensitive: settings.sensitive_data,
            holded,
            hubspot,
            deal,
        })
    }

    /// The steps, from wherever the request is (`deal`, when just read).
    async fn advance(
        &self,
        portal: &portal::Model,
        work: &mut document_request::Model,
        deal: Option<Deal>,
    ) -> Result<(), DealError> {
        let doc_type = DocumentType::from_v1_name(&work.document_type).ok_or_else(|| {
            DealError::Permanent(format!(
                "Tipo de documento desconocido: {}",
                work.document_type
            ))
        })?;
        let ctx = self.context(portal, &work.deal_id, deal).await?;
        let quota = Quota::new(self.store.clone(), self.holded.monthly_quota());
        if let Some(paused) = quota.paused(ctx.holded.account_id()).await? {
            return Err(DealError::Paused(paused));
        }
        let result = self.steps(&ctx, doc_type, portal, work).await;
        match result {
            Err(DealError::QuotaSpent) => Err(DealError::Paused(quota.spent(&ctx.holded).await?)),
            other => {
                quota.record(&ctx.holded).await?;
                other
            }
        }
    }

    /// The steps of a turn, from wherever the request is.
    async fn steps(
        &self,
        ctx: &Context,
        doc_type: DocumentType,
        portal: &portal::Model,
        work: &mut document_request::Model,
    ) -> Result<(), DealError> {
        let mut adopted = false;
        if work.holded_document_id.is_none()
            && let Some(existing) = self.deal_document(ctx, doc_type, portal.id).await?
        {
            // The deal already is this Holded document (it came from Holded).
            work.holded_contact_id = existing.contact_id.clone();
            work.holded_document_id = Some(existing.id);
            work.state = RequestState::Creating.as_str().to_owned();
            self.save(work).await?;
            adopted = true;
        }
        let mut previous_contact = None;
        if work.state == RequestState::Pending.as_str() {
            previous_contact = work.holded_contact_id.clone();
            self.party_step(ctx, portal.id, work).await?;
        }
        if work.holded_document_id.is_none() {
            adopted = self
                .document_step(ctx, doc_type, work, previous_contact)
                .await?;
        }
        self.finish(ctx, doc_type, work, adopted).await
    }

    /// The Holded document of `doc_type` that the deal already stands for:
    /// its `holded_id`, or the nightly sync's link to it, when Holded has a
    /// document of that type with that id.
    async fn deal_document(
        &self,
        ctx: &Context,
        doc_type: DocumentType,
        portal_id: i64,
    ) -> Result<Option<crate::holded::Document>, DealError> {
        let synced = self
            .store
            .link_by_hubspot_id(portal_id, "deals", &ctx.deal.id)
            .await?
            .map(|l| l.holded_id);
        let mut candidates: Vec<String> = ctx.deal.holded_id.iter().cloned().collect();
        candidates.extend(synced);
        candidates.dedup();
        for id in candidates {
            match ctx.holded.document(doc_type, &id).await {
                Ok(document) => return Ok(Some(document)),
                Err(HoldedError::NotFound { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Ok(None)
    }

    /// Makes sure the Holded contact exists; the request is then `contact_ready`.
    async fn party_step(
        &self,
        ctx: &Context,
        portal_id: i64,
        work: &mut document_request::Model,
    ) -> Result<(), DealError> {
        // Unset "Asociar documento a": the company if there is one, else the contact.
        let (to, record) = match ctx.deal.associate_to {
            Some(to) => (to, associated_record(&ctx.hubspot, &ctx.deal.id, to).await?),
            None => {
                match associated_record(&ctx.hubspot, &ctx.deal.id, AssociateTo::Company).await? {
                    Some(company) => (AssociateTo::Company, Some(company)),
                    None => (
                        AssociateTo::Contact,
                        associated_record(&ctx.hubspot, &ctx.deal.id, AssociateTo::Contact).await?,
                    ),
                }
            }
        };
        let record = record.ok_or_else(|| DealError::Permanent(missing_association(to)))?;
        let context = PartyContext {
            portal_id,
            hubspot: &ctx.hubspot,
            holded: &ctx.holded,
            store: &self.store,
            index: ContactIndex::new(&self.store, &self.cipher, portal_id, ctx.sensitive),
            sensitive: ctx.sensitive,
        };
        let party = ensure_party(&context, to, &record).await?;
        work.associate_to = Some(to.as_str().to_owned());
        work.holded_contact_id = Some(party.holded_id.clone());
        work.state = RequestState::ContactReady.as_str().to_owned();
        work.error = None;
        self.save(work).await?;
        let step = Step {
            deal_id: ctx.deal.id.clone(),
            title: party.step_title(to),
            detail: party.write_back_problem.clone(),
            link: None,
            ok: true,
        };
        self.tell(&ctx.hubspot, &step, work.id).await;
        Ok(())
    }

    /// Makes sure the document exists: found by its reference when a create
    /// may have been sent before (for this contact or the one before it, from
    /// the first attempt's date to today), else created today. Its id is saved
    /// and linked to the deal at once. Returns whether it was found.
    async fn document_step(
        &self,
        ctx: &Context,
        doc_type: DocumentType,
        work: &mut document_request::Model,
        previous_contact: Option<String>,
    ) -> Result<bool, DealError> {
        let contact_id = work.holded_contact_id.clone().ok_or_else(|| {
            DealError::Permanent("Falta el contacto de Holded de la solicitud.".to_owned())
        })?;
        let marker = reference(work);
        let mut found = None;
        if work.reference.is_some() {
            let since = work.document_date.unwrap_or(ctx.today).min(ctx.today);
            let contacts: std::collections::BTreeSet<String> =
                [Some(contact_id.clone()), previous_contact]
                    .into_iter()
                    .flatten()
                    .collect();
            for contact in contacts {
                found = find_created(&ctx.holded, doc_type, &contact, (since, ctx.today), &marker)
                    .await?;
                if found.is_some() {
                    break;
                }
            }
        }
        let adopted = found.is_some();
        let document_id = match found {
            Some(document) => document.id,
            None => {
                let (lines, total) = self.lines(ctx, &ctx.default_tax).await?;
                work.expected_total = Some(total.to_string());
                work.state = RequestState::Creating.as_str().to_owned();
                work.document_date = Some(work.document_date.unwrap_or(ctx.today));
                work.reference = Some(marker.clone());
                // The intent, saved under the fence right before the create.
                self.save(work).await?;
                document::create(
                    &ctx.holded,
                    Draft {
                        doc_type,
                        contact_id: &contact_id,
                        date: ctx.today,
                        deal_name: &ctx.deal.name,
                        reference: &marker,
                        currency: ctx.deal.currency.as_deref(),
                        lines,
                    },
                )
                .await?
            }
        };
        // Linked before anything else can fail: the nightly sync leaves it to this deal.
        self.store
            .save_links(
                work.portal_id,
                ORIGIN_KIND,
                &[LinkWrite {
                    holded_id: document_id.clone(),
                    hubspot_id: work.deal_id.clone(),
                    content_hash: String::new(),
                    holded_updated_at: None,
                    listed: false,
                }],
            )
            .await?;
        work.holded_document_id = Some(document_id);
        self.save(work).await?;
        Ok(adopted)
    }

    /// The document's lines (the deal's line items, or one line for its
    /// amount) and the total they come to.
    async fn lines(
        &self,
        ctx: &Context,
        default_tax: &str,
    ) -> Result<(Vec<crate::holded::DocumentLine>, Decimal), DealError> {
        let (items, products) = line_items(&ctx.hubspot, &ctx.deal.id).await?;
        let uses_hubspot_rates = items
            .iter()
            .any(|i| i.get("hs_tax_rate_group_id").is_some());
        let rates = if uses_hubspot_rates {
            match ctx.hubspot.tax_rates().await {
                Ok(rates) => rates,
                Err(HubspotError::MissingScopes { .. } | HubspotError::Auth { .. }) => Vec::new(),
                Err(other) => return Err(other.into()),
            }
        } else {
            Vec::new()
        };
        let catalogue = TaxCatalogue::new(ctx.holded.taxes().await?, rates, default_tax);
        let lines = if items.is_empty() {
            vec![amount_line(
                &ctx.deal.name,
                ctx.deal.amount.as_deref(),
                &catalogue,
            )?]
        } else {
            document_lines(&items, &products, &catalogue)?
        };
        let total = catalogue.total(&lines)?;
        Ok((lines, total))
    }

    /// Reads the document back, compares its total, writes the deal and ends
    /// the request. A document deleted in Holded meanwhile is forgotten, so
    /// that "Reintentar" creates it again.
    async fn finish(
        &self,
        ctx: &Context,
        doc_type: DocumentType,
        work: &mut document_request::Model,
        adopted: bool,
    ) -> Result<(), DealError> {
        let id = work
            .holded_document_id
            .clone()
            .expect("finish runs once the document id is known");
        let document = match ctx.holded.document(doc_type, &id).await {
            Ok(document) => document,
            Err(HoldedError::NotFound { .. }) => {
                work.holded_document_id = None;
                return Err(DealError::Permanent(format!(
                    "{} {id} ya no existe en Holded (¿se borró?). Pulsa Reintentar para crearlo de nuevo.",
                    doc_type.spanish_name()
                )));
            }
            Err(other) => return Err(other.into()),
        };
        let currency = document
            .currency
            .clone()
            .unwrap_or_else(|| "EUR".to_owned());
        let holded_total = cents(document.total);
        let mismatch = work
            .expected_total
            .as_deref()
            .and_then(|t| Decimal::from_str(t).ok())
            .filter(|expected| cents(*expected) != holded_total)
            .map(|expected| {
                format!(
                    "Atención: Holded calcula un total de {} y las líneas del negocio suman {}. Revisa el documento en Holded.",
                    format_amount(holded_total, &currency),
                    format_amount(expected, &currency)
                )
            });
        let link = document_link(doc_type, &id);
        let shown = created_document_properties(&document);
        let mut properties = shown.clone();
        properties.insert("holded_id".to_owned(), id.clone());
        properties.insert(
            "holded_error".to_owned(),
            mismatch.clone().unwrap_or_default(),
        );
        // The fence: a worker whose lease ran out stops before writing.
        self.save(work).await?;
        ctx.hubspot
            .update_object(ObjectType::Deals, &work.deal_id, &properties)
            .await?;
        let created_here = self
            .store
            .links(work.portal_id, ORIGIN_KIND, std::slice::from_ref(&id))
            .await?
            .contains_key(&id);
        if created_here {
            // Its status as made (a draft), so that its approval and
            // payments are told on the deal when the sync sees them.
            self.store
                .save_document_states(work.portal_id, &[state_of(&document, ctx.today)])
                .await?;
            // What the deal shows of the document it made: the nightly sync
            // rewrites it only when Holded changes it (a number on approval).
            self.store
                .save_links(
                    work.portal_id,
                    ORIGIN_KIND,
                    &[LinkWrite {
                        holded_id: id.clone(),
                        hubspot_id: work.deal_id.clone(),
                        content_hash: content_hash(&shown, &[]),
                        holded_updated_at: None,
                        listed: false,
                    }],
                )
                .await?;
        }
        work.state = RequestState::Created.as_str().to_owned();
        work.holded_document_number = document.number.clone();
        work.holded_link = Some(link.clone());
        work.holded_total = Some(holded_total.to_string());
        work.error = mismatch.clone();
        work.next_attempt_at = None;
        work.lease_until = None;
        self.save(work).await?;
        tracing::info!(request = work.id, deal = %work.deal_id, document = %id, adopted, "Holded document ready");
        let step = Step {
            deal_id: work.deal_id.clone(),
            title: document::step_title(&document, adopted),
            detail: mismatch,
            link: Some(link),
            ok: true,
        };
        self.tell(&ctx.hubspot, &step, work.id).await;
        Ok(())
    }
}

/// What one turn of a request works with.
struct Context {
    /// Today in the portal's time zone (a new document's date).
    today: NaiveDate,
    /// Holded tax key of lines without a tax.
    default_tax: String,
    /// Whether NIF, VAT number, IBAN and SWIFT may travel.
    sensitive: bool,
    holded: HoldedClient,
    hubspot: PortalClient,
    deal: Deal,
}

/// How long to wait after a transient failure: the backoff, but at least
/// [`IN_DOUBT_WAIT`] when a create may have been sent (Holded may still be
/// working on it, and its lists may lag behind).
fn retry_wait(work: &document_request::Model) -> chrono::Duration {
    let in_doubt = work.reference.is_some() && work.holded_document_id.is_none();
    let wait = backoff(work.attempts - work.attempts_at_open);
    if in_doubt {
        wait.max(IN_DOUBT_WAIT)
    } else {
        wait
    }
}

fn missing_association(to: AssociateTo) -> String {
    match to {
        AssociateTo::Company => "El negocio no tiene ninguna empresa asociada: asocia una empresa o elige «Contacto» en «Asociar documento a» y reintenta.".to_owned(),
        AssociateTo::Contact => "El negocio no tiene ningún contacto asociado: asocia un contacto o elige «Empresa» en «Asociar documento a» y reintenta.".to_owned(),
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_an_hour() {
        assert_eq!(backoff(1), chrono::Duration::seconds(5));
        assert!(backoff(4) > backoff(3));
        assert_eq!(backoff(20), chrono::Duration::hours(1));
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| backoff(a).num_seconds()).sum();
        assert!(total > 4 * 3_600, "gives Holded hours to recover: {total}");
    }
}
