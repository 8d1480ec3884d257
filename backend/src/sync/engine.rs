//! Running a portal's sync: the lock, the settings, resuming an interrupted
//! run, the parts in dependency order (contacts and companies before the
//! documents that reference them), and how the run ends.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Instant,
};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{
    Progress, SyncError,
    contacts::{ContactKinds, sync_contacts},
    context::RunContext,
    deals::sync_deals,
    mapping::Sensitive,
    products::sync_products,
    tally::{KindReport, Tally},
    targets::{Scope, Targets},
};
use crate::{
    contact_index::ContactIndex,
    crypto::Cipher,
    deals::timeline::TimelineChannel,
    holded::HoldedError,
    hubspot::{Hubspot, HubspotError, PortalClient},
    install::provision,
    lease::Heartbeat,
    quota::Quota,
    schedule::portal_time_zone,
    settings::{DocumentMapping, HoldedAccess, SyncObjects},
    store::{
        PortalStatus, RunTrigger, Store, entities::sync_run, portal_tokens::portal_client,
        portals::SYNC_HEARTBEAT,
    },
};

/// What to run.
#[derive(Clone, Debug)]
pub struct SyncRequest {
    /// Portal.
    pub portal_id: i64,
    /// What asked.
    pub trigger: RunTrigger,
    /// Objects to sync; `None` follows the settings.
    pub objects: Option<SyncObjects>,
    /// Start date; `None` follows the settings.
    pub since: Option<NaiveDate>,
    /// Plan only: write nothing to HubSpot.
    pub dry_run: bool,
    /// Only these records (a targeted run after webhooks); `None` for all.
    pub targets: Option<Targets>,
}

/// How a run ended.
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    /// Run id.
    pub run_id: i64,
    /// `completed`, `failed` or `paused`.
    pub status: String,
    /// Why it failed or paused.
    pub error: Option<String>,
    /// When a paused run continues (HubSpot's daily limit resets).
    pub paused_until: Option<DateTime<Utc>>,
    /// Per kind.
    pub kinds: Vec<KindReport>,
    /// Wall time.
    pub elapsed_ms: u128,
}

/// Runs syncs; cheap to clone.
#[derive(Clone, Debug)]
pub struct SyncEngine {
    store: Store,
    cipher: Cipher,
    hubspot: Hubspot,
    holded: HoldedAccess,
    timeline: TimelineChannel,
    /// Portals whose deal properties this process has made sure of.
    deal_properties_checked: Arc<Mutex<HashSet<i64>>>,
}

impl SyncEngine {
    /// An engine over the app's HubSpot client (portal tokens opened with
    /// `cipher`) and the portals' Holded accounts through `holded`.
    pub fn new(store: Store, cipher: Cipher, hubspot: Hubspot, holded: HoldedAccess) -> Self {
        Self {
            store,
            cipher,
            hubspot,
            holded,
            timeline: TimelineChannel::default(),
            deal_properties_checked: Arc::default(),
        }
    }

    /// Makes sure, once per process, that the portal has every deal property
    /// of the manifest (one installed before a property was added lacks it).
    async fn check_deal_properties(&self, hubspot: &PortalClient) -> Result<(), HubspotError> {
        let portal = hubspot.portal_id() as i64;
        let checked = |set: &Mutex<HashSet<i64>>| {
            set.lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&portal)
        };
        if checked(&self.deal_properties_checked) {
            return Ok(());
        }
        let report = provision::provision_deals(hubspot).await?;
        if !report.properties_created.is_empty() {
            tracing::info!(portal_id = portal, created = ?report.properties_created, "deal properties added");
        }
        self.deal_properties_checked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(portal);
        Ok(())
    }

    /// Tells changes of the deals' documents through `timeline` (notes by default).
    pub fn with_timeline(mut self, timeline: TimelineChannel) -> Self {
        self.timeline = timeline;
        self
    }

    /// A HubSpot client for `portal_id` with its sealed tokens.
    pub fn portal_client(&self, portal_id: i64) -> PortalClient {
        portal_client(&self.hubspot, &self.store, &self.cipher, portal_id)
    }

    /// Runs (or resumes) the sync of one portal; one run per portal at a time.
    pub async fn run(
        &self,
        request: SyncRequest,
        progress: &dyn Progress,
    ) -> Result<SyncReport, SyncError> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        if !self
            .store
            .lock_portal_sync(request.portal_id, &owner)
            .await?
        {
            return Err(SyncError::AlreadyRunning);
        }
        let (store, portal_id, holder) = (self.store.clone(), request.portal_id, owner.clone());
        let lock = Heartbeat::start("sync", SYNC_HEARTBEAT, move || {
            let (store, holder) = (store.clone(), holder.clone());
            async move { store.renew_portal_sync(portal_id, &holder).await }
        });
        let result = self.run_locked(&request, progress, &lock).await;
        drop(lock);
        self.store
            .unlock_portal_sync(request.portal_id, &owner)
            .await?;
        result
    }

    async fn run_locked(
        &self,
        request: &SyncRequest,
        progress: &dyn Progress,
        lock: &Heartbeat,
    ) -> Result<SyncReport, SyncError> {
        let started = Instant::now();
        let portal = self
            .store
            .portal(request.portal_id)
            .await?
            .filter(|p| p.status == PortalStatus::Connected.as_str())
            .ok_or(SyncError::NotConnected(request.portal_id))?;
        let settings = self
            .store
            .portal_settings(portal.id, &portal.time_zone)
            .await?;
        let holded = self.holded.stored_client(&settings)?;
        let hubspot = self.portal_client(portal.id);
        let objects = request.objects.unwrap_or(SyncObjects {
            contacts: settings.sync_contacts,
            companies: settings.sync_companies,
            products: settings.sync_products,
            documents: settings.sync_documents,
        });
        let resumed = if request.dry_run || request.targets.is_some() {
            None
        } else {
            self.store.resumable_run(portal.id).await?
        };
        let run = match resumed {
            Some(run) => {
                tracing::info!(
                    portal_id = portal.id,
                    run_id = run.id,
                    "resuming an interrupted run"
                );
                self.store.set_run_status(run.id, "running", None).await?;
                run
            }
            None => {
                let since = request.since.or(settings.next_sync_date);
                self.store
                    .start_run(portal.id, request.trigger, request.dry_run, since)
                    .await?
            }
        };
        let ctx = RunContext {
            store: &self.store,
            portal_id: portal.id,
            run_id: run.id,
            hubspot: &hubspot,
            holded: &holded,
            holded_calls: holded.call_counter(),
            index: ContactIndex::new(
                &self.store,
                &self.cipher,
                portal.id,
                settings.sensitive_data && portal.sensitive_supported,
            ),
            sensitive: Sensitive(settings.sensitive_data && portal.sensitive_supported),
            erase_sensitive: settings.erase_sensitive_pending
                && !settings.sensitive_data
                && !run.dry_run,
            since: run.since,
            dry_run: run.dry_run,
            mapping: DocumentMapping::from_json(&settings.document_mapping),
            progress,
            lock,
            targets: request.targets.as_ref(),
            today: Utc::now()
                .with_timezone(&portal_time_zone(&portal.time_zone))
                .date_naive(),
            timeline: &self.timeline,
        };
        let quota = Quota::new(self.store.clone(), self.holded.monthly_quota());
        let mut kinds = Vec::new();
        // A targeted run checks the quota by this service's own count: asking
        // Holded for its count would double the cost of a delivery (the
        // nightly run asks).
        let before = if ctx.targets.is_some() {
            quota.record(&holded).await?
        } else {
            quota.before_run(&holded).await?
        };
        let outcome = match before {
            Some(paused) => Err(SyncError::QuotaSpent(paused)),
            None if objects.documents && !run.dry_run => {
                match self.check_deal_properties(&hubspot).await {
                    Ok(()) => run_parts(&ctx, &quota, objects, &mut kinds).await,
                    Err(err) => Err(err.into()),
                }
            }
            None => run_parts(&ctx, &quota, objects, &mut kinds).await,
        };
        let outcome = match outcome {
            Err(SyncError::Holded(HoldedError::QuotaExhausted { .. })) => {
                Err(SyncError::QuotaSpent(quota.spent(&holded).await?))
            }
            other => {
                quota.record(&holded).await?;
                other
            }
        };
        let reports: Vec<KindReport> = kinds.iter().map(|t| t.report().clone()).collect();
        let elapsed_ms = started.elapsed().as_millis();
        let report = |status: &str, error: Option<String>, paused_until| SyncReport {
            run_id: run.id,
            status: status.to_owned(),
            error,
            paused_until,
            kinds: reports.clone(),
            elapsed_ms,
        };
        match outcome {
            Ok(()) => {
                if ctx.erase_sensitive && objects.contacts && objects.companies {
                    self.store.clear_erase_pending(portal.id).await?;
                }
                self.store
                    .finish_run(run.clone(), "completed", None)
                    .await?;
                Ok(report("completed", None, None))
            }
            Err(SyncError::Hubspot(HubspotError::DailyLimit { until, .. })) => {
                let message = format!(
                    "Pausada: HubSpot alcanzó el límite diario de peticiones; continúa a las {until}."
                );
                self.pause(&run, portal.id, until, &message).await?;
                Ok(report("paused", Some(message), Some(until)))
            }
            Err(SyncError::QuotaSpent(paused)) => {
                let message = format!("Pausada: {}", paused.message);
                self.pause(&run, portal.id, paused.until, &message).await?;
                Ok(report("paused", Some(message), Some(paused.until)))
            }
            // The run that took the lock over owns the run row now.
            Err(SyncError::LockLost) => Err(SyncError::LockLost),
            // A revoked installation was already marked disconnected by the
            // portal's token store.
            Err(err) => {
                let message = err.to_string();
                self.store
                    .finish_run(run.clone(), "failed", Some(message.clone()))
                    .await?;
                Ok(report("failed", Some(message), None))
            }
        }
    }

    /// Leaves `run` paused with `message` and the portal's next run at `until`
    /// (the run resumes from its checkpoint then).
    async fn pause(
        &self,
        run: &sync_run::Model,
        portal_id: i64,
        until: DateTime<Utc>,
        message: &str,
    ) -> Result<(), SyncError> {
        self.store
            .set_run_status(run.id, "paused", Some(message.to_owned()))
            .await?;
        self.store.schedule_portal(portal_id, Some(until)).await?;
        Ok(())
    }
}

/// The parts in order; between them the Holded calls so far are counted, and
/// a spent quota stops the run there (it resumes from the next part).
async fn run_parts(
    ctx: &RunContext<'_>,
    quota: &Quota,
    objects: SyncObjects,
    done: &mut Vec<Tally>,
) -> Result<(), SyncError> {
    let contacts = if ctx.contacts_scope() == Scope::Nothing {
        Vec::new()
    } else {
        sync_contacts(
            ctx,
            ContactKinds {
                persons: objects.contacts,
                companies: objects.companies,
            },
        )
        .await?
    };
    for tally in contacts {
        ctx.progress.kind_done(tally.report());
        done.push(tally);
    }
    within_quota(ctx, quota).await?;
    if objects.products
        && ctx.products_scope() != Scope::Nothing
        && let Some(tally) = sync_products(ctx).await?
    {
        ctx.progress.kind_done(tally.report());
        done.push(tally);
    }
    within_quota(ctx, quota).await?;
    if objects.documents
        && ctx.targets.is_none_or(Targets::any_documents)
        && let Some(tally) = sync_deals(ctx).await?
    {
        ctx.progress.kind_done(tally.report());
        done.push(tally);
    }
    Ok(())
}

/// Counts the calls made so far; an error when they spent the month's quota.
async fn within_quota(ctx: &RunContext<'_>, quota: &Quota) -> Result<(), SyncError> {
    match quota.record(ctx.holded).await? {
        Some(paused) => Err(SyncError::QuotaSpent(paused)),
        None => Ok(()),
    }
}
