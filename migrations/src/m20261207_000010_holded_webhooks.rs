//! Holded webhooks per portal: the opaque token of the portal's endpoint,
//! the sealed signing secret, the Holded account the deliveries come from
//! (pinned by the first verified delivery), the last delivery and the
//! refused ones; the deliveries received, stored once by Holded's delivery
//! id until the targeted sync has handled them; and the last state of each
//! deal's document told on the deal's timeline (status, number, paid).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000010_holded_webhooks"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HoldedWebhooks::Table)
                    .if_not_exists()
                    .col(big_integer(HoldedWebhooks::PortalId).primary_key())
                    .col(string_uniq(HoldedWebhooks::Token))
                    .col(string_null(HoldedWebhooks::SecretEnc))
                    .col(string_null(HoldedWebhooks::AccountId))
                    .col(timestamp_with_time_zone_null(
                        HoldedWebhooks::LastDeliveryAt,
                    ))
                    .col(big_integer(HoldedWebhooks::Refused).default(0))
                    .col(string_null(HoldedWebhooks::LastRefusal))
                    .col(timestamp_with_time_zone_null(HoldedWebhooks::LastRefusedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HoldedWebhookEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(HoldedWebhookEvents::Id))
                    .col(big_integer(HoldedWebhookEvents::PortalId))
                    .col(string(HoldedWebhookEvents::DeliveryId))
                    .col(string(HoldedWebhookEvents::Event))
                    .col(string_null(HoldedWebhookEvents::ObjectId))
                    .col(timestamp_with_time_zone(HoldedWebhookEvents::ReceivedAt))
                    .col(timestamp_with_time_zone_null(
                        HoldedWebhookEvents::ProcessedAt,
                    ))
                    .col(big_integer_null(HoldedWebhookEvents::RunId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_holded_webhook_events_delivery")
                    .table(HoldedWebhookEvents::Table)
                    .col(HoldedWebhookEvents::PortalId)
                    .col(HoldedWebhookEvents::DeliveryId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_holded_webhook_events_pending")
                    .table(HoldedWebhookEvents::Table)
                    .col(HoldedWebhookEvents::PortalId)
                    .col(HoldedWebhookEvents::ProcessedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DocumentStates::Table)
                    .if_not_exists()
                    .col(big_integer(DocumentStates::PortalId))
                    .col(string(DocumentStates::HoldedId))
                    .col(string(DocumentStates::DocType))
                    .col(string_null(DocumentStates::Number))
                    .col(string(DocumentStates::Status))
                    .col(string(DocumentStates::Paid))
                    .col(string(DocumentStates::Pending))
                    .col(string(DocumentStates::Currency))
                    .col(timestamp_with_time_zone(DocumentStates::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(DocumentStates::PortalId)
                            .col(DocumentStates::HoldedId),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DocumentStates::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(HoldedWebhookEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(HoldedWebhooks::Table).to_owned())
            .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedWebhooks {
    Table,
    PortalId,
    Token,
    SecretEnc,
    AccountId,
    LastDeliveryAt,
    Refused,
    LastRefusal,
    LastRefusedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum HoldedWebhookEvents {
    Table,
    Id,
    PortalId,
    DeliveryId,
    Event,
    ObjectId,
    ReceivedAt,
    ProcessedAt,
    RunId,
}

#[derive(Clone, Copy, DeriveIden)]
enum DocumentStates {
    Table,
    PortalId,
    HoldedId,
    DocType,
    Number,
    Status,
    Paid,
    Pending,
    Currency,
    UpdatedAt,
}
