//! Serialising the creation of a customer in Holded per portal and HubSpot
//! record: a claim with a lease on the database's clock, and the note that a
//! create was sent (before it is sent), which a later holder reads as "look
//! before creating again".

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};

use super::{Store, entities::party_claim};

/// How long a claim holds without being released (a create and its link
/// take well under it).
pub const PARTY_LEASE: chrono::Duration = chrono::Duration::minutes(2);

/// A held claim.
#[derive(Debug, Clone)]
pub struct PartyClaim {
    /// Portal.
    pub portal_id: i64,
    /// `companies` or `contacts`.
    pub kind: String,
    /// The HubSpot record.
    pub hubspot_id: String,
    /// Who holds it.
    pub owner: String,
    /// When a create was sent before (by this holder or a previous one).
    pub create_sent_at: Option<DateTime<Utc>>,
}

fn scope(portal_id: i64, kind: &str, hubspot_id: &str) -> Condition {
    Condition::all()
        .add(party_claim::Column::PortalId.eq(portal_id))
        .add(party_claim::Column::ObjectKind.eq(kind))
        .add(party_claim::Column::HubspotId.eq(hubspot_id))
}

impl Store {
    /// Claims the creation of HubSpot record `hubspot_id` for `owner`;
    /// `None` while another holder's lease is live.
    pub async fn claim_party(
        &self,
        portal_id: i64,
        kind: &str,
        hubspot_id: &str,
        owner: &str,
    ) -> Result<Option<PartyClaim>, DbErr> {
        party_claim::Entity::insert(party_claim::ActiveModel {
            portal_id: Set(portal_id),
            object_kind: Set(kind.to_owned()),
            hubspot_id: Set(hubspot_id.to_owned()),
            owner: Set(None),
            lease_until: Set(None),
            create_sent_at: Set(None),
        })
        .on_conflict_do_nothing_on([
            party_claim::Column::PortalId,
            party_claim::Column::ObjectKind,
            party_claim::Column::HubspotId,
        ])
        .exec(self.db())
        .await?;
        let free = Condition::any()
            .add(party_claim::Column::LeaseUntil.is_null())
            .add(
                Expr::col(party_claim::Column::LeaseUntil)
                    .lt(self.db_now(chrono::Duration::zero())),
            )
            .add(party_claim::Column::Owner.eq(owner));
        let taken = party_claim::Entity::update_many()
            .col_expr(party_claim::Column::Owner, Expr::value(owner))
            .col_expr(party_claim::Column::LeaseUntil, self.db_now(PARTY_LEASE))
            .filter(scope(portal_id, kind, hubspot_id))
            .filter(free)
            .exec(self.db())
            .await?
            .rows_affected
            == 1;
        if !taken {
            return Ok(None);
        }
        let row = party_claim::Entity::find()
            .filter(scope(portal_id, kind, hubspot_id))
            .one(self.db())
            .await?;
        Ok(row.map(|row| PartyClaim {
            portal_id,
            kind: kind.to_owned(),
            hubspot_id: hubspot_id.to_owned(),
            owner: owner.to_owned(),
            create_sent_at: row.create_sent_at,
        }))
    }

    /// Notes, under the claim, that a create is about to be sent; `false`
    /// when the claim is no longer `claim.owner`'s (then nothing is sent).
    pub async fn note_party_create(&self, claim: &PartyClaim) -> Result<bool, DbErr> {
        Ok(party_claim::Entity::update_many()
            .col_expr(
                party_claim::Column::CreateSentAt,
                Expr::value(Some(Utc::now())),
            )
            .col_expr(party_claim::Column::LeaseUntil, self.db_now(PARTY_LEASE))
            .filter(scope(claim.portal_id, &claim.kind, &claim.hubspot_id))
            .filter(party_claim::Column::Owner.eq(claim.owner.as_str()))
            .exec(self.db())
            .await?
            .rows_affected
            == 1)
    }

    /// Ends the claim: the record is linked (or nothing was created).
    pub async fn release_party(&self, claim: &PartyClaim, linked: bool) -> Result<(), DbErr> {
        let mut update = party_claim::Entity::update_many()
            .col_expr(party_claim::Column::Owner, Expr::value(None::<String>))
            .col_expr(
                party_claim::Column::LeaseUntil,
                Expr::value(None::<DateTime<Utc>>),
            );
        if linked {
            update = update.col_expr(
                party_claim::Column::CreateSentAt,
                Expr::value(None::<DateTime<Utc>>),
            );
        }
        update
            .filter(scope(claim.portal_id, &claim.kind, &claim.hubspot_id))
            .filter(party_claim::Column::Owner.eq(claim.owner.as_str()))
            .exec(self.db())
            .await
            .map(|_| ())
    }
}
