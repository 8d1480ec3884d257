//! Document requests (HubSpot deal → Holded document): opened once per deal
//! and document type, claimed by one worker at a time with a lease, saved
//! with a fencing check so that a worker whose lease expired cannot overwrite
//! the one that took over.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DbErr, EntityTrait, IntoActiveModel, NotSet, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{Store, entities::document_request};

/// How long a claim holds a request without being renewed (the worker renews
/// it while it works; a crashed worker's request is free again after this).
pub const REQUEST_LEASE: chrono::Duration = chrono::Duration::seconds(45);

/// A request changed this recently is taken to be queued already (the sweeper
/// leaves it to the job that is on its way).
pub const QUEUED_GRACE: chrono::Duration = chrono::Duration::seconds(10);

/// How a failed attempt ended ([`Store::fail_document_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// Failed: it waits for the rep.
    Failed,
    /// A trigger came during the attempt: open again, due now.
    Reopened,
    /// Another worker holds the request.
    LeaseLost,
}

/// The states of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting to be worked on.
    Pending,
    /// The Holded contact is known.
    ContactReady,
    /// A create was (or is about to be) sent to Holded: look before creating again.
    Creating,
    /// The document exists in Holded (final).
    Created,
    /// Stopped with an error; waits for the rep.
    Failed,
}

impl RequestState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::ContactReady => "contact_ready",
            Self::Creating => "creating",
            Self::Created => "created",
            Self::Failed => "failed",
        }
    }

    /// The state of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::ContactReady,
            Self::Creating,
            Self::Created,
            Self::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// States a worker still has to finish.
    pub const OPEN: [RequestState; 3] = [Self::Pending, Self::ContactReady, Self::Creating];
}

/// What opened (or re-opened) a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestTrigger {
    /// The deal entered the stage mapped to its document type.
    Stage,
    /// "Crear ahora" or "Reintentar" on the deal card or the console.
    Card,
}

impl RequestTrigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stage => "stage",
            Self::Card => "card",
        }
    }
}

/// No worker holds the request and its next attempt (if any) is due at `now`.
/// No worker holds it and its next attempt is due, by the database's clock
/// `now` (see [`Store::db_now`]).
fn free_and_due(now: Expr) -> Condition {
    Condition::all()
        .add(
            Condition::any()
                .add(document_request::Column::LeaseUntil.is_null())
                .add(Expr::col(document_request::Column::LeaseUntil).lt(now.clone())),
        )
        .add(
            Condition::any()
                .add(document_request::Column::NextAttemptAt.is_null())
                .add(Expr::col(document_request::Column::NextAttemptAt).lte(now)),
        )
}

fn open_states() -> Vec<&'static str> {
    RequestState::OPEN.iter().map(|s| s.as_str()).collect()
}

impl Store {
    /// The request of (deal, document type), created `pending` when missing;
    /// a `failed` one is re-opened (a new trigger is the rep's retry), its
    /// attempt limit counted afresh. A `created` request is returned as it
    /// is; an in-progress one too, except that the rep's `Card` trigger
    /// cancels a wait for its next attempt.
    pub async fn open_document_request(
        &self,
        portal_id: i64,
        deal_id: &str,
        document_type: &str,
        trigger: RequestTrigger,
    ) -> Result<document_request::Model, DbErr> {
        let now = Utc::now();
        document_request::Entity::insert(document_request::ActiveModel {
            id: NotSet,
            portal_id: Set(portal_id),
            deal_id: Set(deal_id.to_owned()),
            document_type: Set(document_type.to_owned()),
            state: Set(RequestState::Pending.as_str().to_owned()),
            attempts: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            trigger: Set(Some(trigger.as_str().to_owned())),
            ..Default::default()
        })
        .on_conflict_do_nothing_on([
            document_request::Column::PortalId,
            document_request::Column::DealId,
            document_request::Column::DocumentType,
        ])
        .exec(self.db())
        .await?;
        let scope = Condition::all()
            .add(document_request::Column::PortalId.eq(portal_id))
            .add(document_request::Column::DealId.eq(deal_id))
            .add(document_request::Column::DocumentType.eq(document_type));
        // A failed request whose document already exists in Holded only has
        // its write-back left (`creating`); any other starts again (`pending`,
        // and its reference makes the next create look before creating).
        for (reopened, has_document) in [
            (RequestState::Creating, true),
            (RequestState::Pending, false),
        ] {
            let document = if has_document {
                document_request::Column::HoldedDocumentId.is_not_null()
            } else {
                document_request::Column::HoldedDocumentId.is_null()
            };
            document_request::Entity::update_many()
                .col_expr(
                    document_request::Column::State,
                    Expr::value(reopened.as_str()),
                )
                .col_expr(
                    document_request::Column::NextAttemptAt,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .col_expr(
                    document_request::Column::Trigger,
                    Expr::value(trigger.as_str()),
                )
                .col_expr(
                    document_request::Column::AttemptsAtOpen,
                    Expr::col(document_request::Column::Attempts),
                )
                .col_expr(document_request::Column::UpdatedAt, Expr::value(now))
                .filter(scope.clone())
                .filter(document_request::Column::State.eq(RequestState::Failed.as_str()))
                .filter(document)
                .exec(self.db())
                .await?;
        }
        // A trigger while a worker holds the request is kept for when that
        // attempt ends (see `fail_document_request`).
        document_request::Entity::update_many()
            .col_expr(
                document_request::Column::RetriggeredAt,
                Expr::value(Some(now)),
            )
            .filter(scope.clone())
            .filter(document_request::Column::State.is_in(open_states()))
            .filter(
                Expr::col(document_request::Column::LeaseUntil)
                    .gt(self.db_now(chrono::Duration::zero())),
            )
            .exec(self.db())
            .await?;
        if trigger == RequestTrigger::Card {
            // The rep asked now: an open request waiting out a backoff goes at once.
            document_request::Entity::update_many()
                .col_expr(
                    document_request::Column::NextAttemptAt,
                    Expr::value(None::<DateTime<Utc>>),
                )
                .filter(scope.clone())
                .filter(document_request::Column::State.is_in(open_states()))
                .exec(self.db())
                .await?;
        }
        document_request::Entity::find()
            .filter(scope)
            .one(self.db())
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("document request".to_owned()))
    }

    /// Records the number Holded now gives the document a created request
    /// made (a v2 draft is numbered when it is approved in Holded).
    pub async fn set_created_document_number(
        &self,
        portal_id: i64,
        holded_document_id: &str,
        number: Option<&str>,
    ) -> Result<(), DbErr> {
        document_request::Entity::update_many()
            .col_expr(
                document_request::Column::HoldedDocumentNumber,
                Expr::value(number.map(str::to_owned)),
            )
            .col_expr(document_request::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(document_request::Column::PortalId.eq(portal_id))
            .filter(document_request::Column::HoldedDocumentId.eq(holded_document_id))
            .filter(document_request::Column::State.eq(RequestState::Created.as_str()))
            .exec(self.db())
            .await
            .map(|_| ())
    }

    /// Claims an open request for one worker for [`REQUEST_LEASE`], in one
    /// atomic update judged by the database's clock: `None` when it is
    /// finished, held by another worker, or waiting for its next attempt. The
    /// claim counts an attempt; the returned row's `attempts` is the fencing
    /// token of [`Self::save_document_request`].
    pub async fn claim_document_request(
        &self,
        id: i64,
    ) -> Result<Option<document_request::Model>, DbErr> {
        let claimed = document_request::Entity::update_many()
            .col_expr(
                document_request::Column::LeaseUntil,
                self.db_now(REQUEST_LEASE),
            )
            .col_expr(
                document_request::Column::Attempts,
                Expr::col(document_request::Column::Attempts).add(1),
            )
            .col_expr(
                document_request::Column::RetriggeredAt,
                Expr::value(None::<DateTime<Utc>>),
            )
            .filter(document_request::Column::Id.eq(id))
            .filter(document_request::Column::State.is_in(open_states()))
            .filter(free_and_due(self.db_now(chrono::Duration::zero())))
            .exec(self.db())
            .await?
            .rows_affected
            == 1;
        if !claimed {
            return Ok(None);
        }
        self.document_request(id).await
    }

    /// Saves every field of `row` if the worker still holds it (renewing the
    /// lease of an open request by the database's clock, unless `row`
    /// releases it with no lease): `false` when another worker claimed it
    /// since (the row's `attempts` no longer matches). Saved right before a
    /// create or a write-back, it is also the fence that stops a worker whose
    /// lease ran out from sending it.
    pub async fn save_document_request(
        &self,
        mut row: document_request::Model,
    ) -> Result<bool, DbErr> {
        row.updated_at = Utc::now();
        let open = RequestState::parse(&row.state).is_some_and(|s| RequestState::OPEN.contains(&s));
        let renew = open && row.lease_until.is_some();
        let attempts = row.attempts;
        let id = row.id;
        let mut active = row.into_active_model().reset_all();
        active.id = NotSet;
        let mut update = document_request::Entity::update_many();
        if renew {
            active.lease_until = NotSet;
            update = update.col_expr(
                document_request::Column::LeaseUntil,
                self.db_now(REQUEST_LEASE),
            );
        }
        let saved = update
            .set(active)
            .filter(document_request::Column::Id.eq(id))
            .filter(document_request::Column::Attempts.eq(attempts))
            .exec(self.db())
            .await?;
        Ok(saved.rows_affected == 1)
    }

    /// Ends the attempt of the worker holding `row` (fencing by `attempts`)
    /// with `row` failed — unless a trigger arrived during the attempt: then
    /// the request opens again, due now, and `Reopened` says so. `LeaseLost`
    /// when another worker holds it.
    pub async fn fail_document_request(
        &self,
        row: document_request::Model,
    ) -> Result<FailOutcome, DbErr> {
        let attempts = row.attempts;
        let id = row.id;
        let mut active = row.clone().into_active_model().reset_all();
        active.id = NotSet;
        active.updated_at = Set(Utc::now());
        let failed = document_request::Entity::update_many()
            .set(active)
            .filter(document_request::Column::Id.eq(id))
            .filter(document_request::Column::Attempts.eq(attempts))
            .filter(document_request::Column::RetriggeredAt.is_null())
            .exec(self.db())
            .await?
            .rows_affected
            == 1;
        if failed {
            return Ok(FailOutcome::Failed);
        }
        let mut reopened = row;
        reopened.state = RequestState::Pending.as_str().to_owned();
        reopened.next_attempt_at = None;
        reopened.lease_until = None;
        reopened.retriggered_at = None;
        reopened.attempts_at_open = attempts;
        Ok(if self.save_document_request(reopened).await? {
            FailOutcome::Reopened
        } else {
            FailOutcome::LeaseLost
        })
    }

    /// Renews the lease of a request this worker holds (fencing by `attempts`);
    /// `false` when another worker took it over.
    pub async fn renew_document_request_lease(
        &self,
        id: i64,
        attempts: i32,
    ) -> Result<bool, DbErr> {
        let renewed = document_request::Entity::update_many()
            .col_expr(
                document_request::Column::LeaseUntil,
                self.db_now(REQUEST_LEASE),
            )
            .filter(document_request::Column::Id.eq(id))
            .filter(document_request::Column::Attempts.eq(attempts))
            .exec(self.db())
            .await?;
        Ok(renewed.rows_affected == 1)
    }

    /// One request.
    pub async fn document_request(
        &self,
        id: i64,
    ) -> Result<Option<document_request::Model>, DbErr> {
        document_request::Entity::find_by_id(id)
            .one(self.db())
            .await
    }

    /// Every request of a deal (one per document type).
    pub async fn deal_document_requests(
        &self,
        portal_id: i64,
        deal_id: &str,
    ) -> Result<Vec<document_request::Model>, DbErr> {
        document_request::Entity::find()
            .filter(document_request::Column::PortalId.eq(portal_id))
            .filter(document_request::Column::DealId.eq(deal_id))
            .order_by_asc(document_request::Column::Id)
            .all(self.db())
            .await
    }

    /// A portal's requests, newest change first.
    pub async fn portal_document_requests(
        &self,
        portal_id: i64,
        limit: u64,
    ) -> Result<Vec<document_request::Model>, DbErr> {
        document_request::Entity::find()
            .filter(document_request::Column::PortalId.eq(portal_id))
            .order_by_desc(document_request::Column::UpdatedAt)
            .limit(limit)
            .all(self.db())
            .await
    }

    /// Open requests no worker holds whose next attempt is due at `now`
    /// (after a transient failure, or left behind by a crashed worker), not
    /// changed nor queued in the last [`QUEUED_GRACE`]; each is marked queued
    /// at `now`, so that it is queued once while a job is on its way.
    pub async fn claim_due_document_requests(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<document_request::Model>, DbErr> {
        let quiet = Condition::all()
            .add(document_request::Column::State.is_in(open_states()))
            .add(free_and_due(self.db_now(chrono::Duration::zero())))
            .add(document_request::Column::UpdatedAt.lt(now - QUEUED_GRACE))
            .add(
                Condition::any()
                    .add(document_request::Column::QueuedAt.is_null())
                    .add(document_request::Column::QueuedAt.lt(now - QUEUED_GRACE)),
            );
        let candidates = document_request::Entity::find()
            .filter(quiet.clone())
            .order_by_asc(document_request::Column::UpdatedAt)
            .limit(limit)
            .all(self.db())
            .await?;
        let mut claimed = Vec::new();
        for request in candidates {
            let taken = document_request::Entity::update_many()
                .col_expr(document_request::Column::QueuedAt, Expr::value(Some(now)))
                .filter(document_request::Column::Id.eq(request.id))
                .filter(quiet.clone())
                .exec(self.db())
                .await?
                .rows_affected
                == 1;
            if taken {
                claimed.push(request);
            }
        }
        Ok(claimed)
    }
}
