//! Customers created in Holded exactly once: a claim per portal and HubSpot
//! record serialises their creation across workers, and records when a create
//! was sent, so that a worker that finds it after a lost answer or a crash
//! looks for that contact before creating another.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000009_party_claims"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PartyClaims::Table)
                    .if_not_exists()
                    .col(big_integer(PartyClaims::PortalId))
                    .col(string(PartyClaims::ObjectKind))
                    .col(string(PartyClaims::HubspotId))
                    .col(string_null(PartyClaims::Owner))
                    .col(timestamp_with_time_zone_null(PartyClaims::LeaseUntil))
                    .col(timestamp_with_time_zone_null(PartyClaims::CreateSentAt))
                    .primary_key(
                        Index::create()
                            .col(PartyClaims::PortalId)
                            .col(PartyClaims::ObjectKind)
                            .col(PartyClaims::HubspotId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PartyClaims::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
enum PartyClaims {
    Table,
    PortalId,
    ObjectKind,
    HubspotId,
    Owner,
    LeaseUntil,
    CreateSentAt,
}
