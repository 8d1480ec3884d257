//! HubSpot deal → Holded document: what a document request needs to be
//! exactly-once (the date and reference recorded before the create, a lease
//! so that one worker at a time works on it, when to try again), what it
//! produced (link, totals), webhook events marked when handled (so a lost job
//! is found again), and the portal's default tax for lines without one.

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_deal_documents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE statement.
        let request_columns = [
            date_null(DocumentRequests::DocumentDate),
            string_null(DocumentRequests::Reference),
            text_null(DocumentRequests::HoldedLink),
            string_null(DocumentRequests::ExpectedTotal),
            string_null(DocumentRequests::HoldedTotal),
            string_null(DocumentRequests::Trigger),
            timestamp_with_time_zone_null(DocumentRequests::NextAttemptAt),
            timestamp_with_time_zone_null(DocumentRequests::LeaseUntil),
        ];
        for column in request_columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(DocumentRequests::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_document_requests_due")
                    .table(DocumentRequests::Table)
                    .col(DocumentRequests::State)
                    .col(DocumentRequests::NextAttemptAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        for column in [
            timestamp_with_time_zone_null(WebhookEvents::ProcessedAt),
            timestamp_with_time_zone_null(WebhookEvents::EnqueuedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookEvents::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_events_unprocessed")
                    .table(WebhookEvents::Table)
                    .col(WebhookEvents::ProcessedAt)
                    .col(WebhookEvents::ReceivedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .add_column(string_null(Settings::DefaultTax))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Settings::Table)
                    .drop_column(Settings::DefaultTax)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_webhook_events_unprocessed")
                    .table(WebhookEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [WebhookEvents::ProcessedAt, WebhookEvents::EnqueuedAt] {
            manager
                .alter_table(
                    Table::alter()
                        .table(WebhookEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_document_requests_due")
                    .table(DocumentRequests::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            DocumentRequests::DocumentDate,
            DocumentRequests::Reference,
            DocumentRequests::HoldedLink,
            DocumentRequests::ExpectedTotal,
            DocumentRequests::HoldedTotal,
            DocumentRequests::Trigger,
            DocumentRequests::NextAttemptAt,
            DocumentRequests::LeaseUntil,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(DocumentRequests::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum DocumentRequests {
    Table,
    State,
    DocumentDate,
    Reference,
    HoldedLink,
    ExpectedTotal,
    HoldedTotal,
    Trigger,
    NextAttemptAt,
    LeaseUntil,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    ReceivedAt,
    ProcessedAt,
    EnqueuedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    DefaultTax,
}
