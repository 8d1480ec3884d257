//! The id Holded gave the portal's webhook when the app registered it
//! through Holded's API (`POST /api/v2/webhooks`), where Holded allows it.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000011_holded_webhook_registration"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(HoldedWebhooks::Table)
                    .add_column(string_null(HoldedWebhooks::HoldedId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(HoldedWebhooks::Table)
                    .drop_column(HoldedWebhooks::HoldedId)
                    .to_owned(),
            )
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedWebhooks {
    Table,
    HoldedId,
}
