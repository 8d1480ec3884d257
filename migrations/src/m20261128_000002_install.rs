//! Install and provisioning: single-use OAuth `state` values, and on portals
//! whether sensitive data is possible and when provisioning last completed.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000002_install"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .if_not_exists()
                    .col(string(OauthStates::Nonce).primary_key())
                    .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
                    .col(timestamp_with_time_zone(OauthStates::ConsumedAt))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .add_column(boolean(Portals::SensitiveSupported).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Portals::Table)
                    .add_column(timestamp_with_time_zone_null(Portals::ProvisionedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Portals::ProvisionedAt, Portals::SensitiveSupported] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Portals::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(
                Table::drop()
                    .table(OauthStates::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Nonce,
    ExpiresAt,
    ConsumedAt,
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    SensitiveSupported,
    ProvisionedAt,
}
