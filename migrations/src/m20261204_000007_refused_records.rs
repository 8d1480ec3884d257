//! Records HubSpot refused for their data: the content it refused is kept on
//! the record's link, so the nightly sync does not send the same content
//! again until it changes in Holded or someone asks for a retry.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000007_refused_records"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RecordLinks::Table)
                    .add_column(string_null(RecordLinks::RefusedHash))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(RecordLinks::Table)
                    .drop_column(RecordLinks::RefusedHash)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum RecordLinks {
    Table,
    RefusedHash,
}
