//! Real-API fidelity with Holded: a run part's warning (a list that did not
//! end cleanly, so nothing was marked deleted), when a Holded list last
//! showed a linked record (one the deal flow just created may not be listed
//! yet, and is not taken as deleted meanwhile), the Holded calls each
//! account made per calendar month against its plan's quota, and an index of
//! the last contact scan (keyed hashes of NIF/CIF and email → Holded id) that
//! the deal flow consults instead of scanning every contact, with when each
//! portal's last clean scan completed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add_columns, drop_columns};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000008_holded_fidelity"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_columns(
            manager,
            SyncRunObjects::Table,
            [text_null(SyncRunObjects::Warning)],
        )
        .await?;
        add_columns(
            manager,
            RecordLinks::Table,
            [timestamp_with_time_zone_null(RecordLinks::ListedAt)],
        )
        .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoldedUsage::Table)
                    .if_not_exists()
                    .col(string(HoldedUsage::Account))
                    .col(string(HoldedUsage::Period))
                    .col(big_integer(HoldedUsage::Calls).default(0))
                    .col(big_integer_null(HoldedUsage::ReportedUsage))
                    .col(big_integer_null(HoldedUsage::ReportedLimit))
                    .col(big_integer_null(HoldedUsage::ReportedAtCalls))
                    .col(timestamp_with_time_zone_null(HoldedUsage::SpentAt))
                    .col(timestamp_with_time_zone_null(HoldedUsage::WarnedAt))
                    .col(timestamp_with_time_zone(HoldedUsage::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(HoldedUsage::Account)
                            .col(HoldedUsage::Period),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoldedContactKeys::Table)
                    .if_not_exists()
                    .col(big_integer(HoldedContactKeys::PortalId))
                    .col(string(HoldedContactKeys::Field))
                    .col(string(HoldedContactKeys::KeyHash))
                    .col(string(HoldedContactKeys::HoldedId))
                    .col(timestamp_with_time_zone(HoldedContactKeys::SeenAt))
                    .primary_key(
                        Index::create()
                            .col(HoldedContactKeys::PortalId)
                            .col(HoldedContactKeys::Field)
                            .col(HoldedContactKeys::KeyHash)
                            .col(HoldedContactKeys::HoldedId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoldedContactScans::Table)
                    .if_not_exists()
                    .col(big_integer(HoldedContactScans::PortalId).primary_key())
                    .col(timestamp_with_time_zone(HoldedContactScans::CompletedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_holded_contact_keys_seen_at")
                    .table(HoldedContactKeys::Table)
                    .col(HoldedContactKeys::PortalId)
                    .col(HoldedContactKeys::SeenAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            HoldedContactScans::Table.into_iden(),
            HoldedContactKeys::Table.into_iden(),
            HoldedUsage::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        drop_columns(manager, RecordLinks::Table, [RecordLinks::ListedAt]).await?;
        drop_columns(manager, SyncRunObjects::Table, [SyncRunObjects::Warning]).await?;
        Ok(())
    }
}

#[derive(Clone, Copy, DeriveIden)]
enum SyncRunObjects {
    Table,
    Warning,
}

#[derive(Clone, Copy, DeriveIden)]
enum RecordLinks {
    Table,
    ListedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedContactScans {
    Table,
    PortalId,
    CompletedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedUsage {
    Table,
    Account,
    Period,
    Calls,
    ReportedUsage,
    ReportedLimit,
    ReportedAtCalls,
    SpentAt,
    WarnedAt,
    UpdatedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedContactKeys {
    Table,
    PortalId,
    Field,
    KeyHash,
    HoldedId,
    SeenAt,
}
