//! The per-portal sync lock: one sync run per portal at a time, across
//! processes, held as a lease that a crashed holder cannot keep forever.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000003_sync_lock"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .add_column(timestamp_with_time_zone_null(Portals::SyncLockUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .drop_column(Portals::SyncLockUntil)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    SyncLockUntil,
}
