//! HubSpot deal → Holded document: what a document request needs to be
//! exactly-once (the date and reference recorded before the create, a lease
//! so that one worker at a time works on it, when to try again, when the
//! sweeper last queued it, the attempts counted before a rep re-opened it), what it
//! produced (link, totals), webhook events marked when handled (so a lost job
//! is found again), and the portal's default tax for lines without one.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add_columns, drop_columns};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000005_deal_documents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let request_columns = [
            date_null(DocumentRequests::DocumentDate),
            string_null(DocumentRequests::Reference),
            text_null(DocumentRequests::HoldedLink),
            string_null(DocumentRequests::ExpectedTotal),
            string_null(DocumentRequests::HoldedTotal),
            string_null(DocumentRequests::Trigger),
            timestamp_with_time_zone_null(DocumentRequests::NextAttemptAt),
            timestamp_with_time_zone_null(DocumentRequests::LeaseUntil),
            timestamp_with_time_zone_null(DocumentRequests::QueuedAt),
            integer(DocumentRequests::AttemptsAtOpen)
                .default(0)
                .to_owned(),
        ];
        add_columns(manager, DocumentRequests::Table, request_columns).await?;
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
        add_columns(
            manager,
            WebhookEvents::Table,
            [
                timestamp_with_time_zone_null(WebhookEvents::ProcessedAt),
                timestamp_with_time_zone_null(WebhookEvents::EnqueuedAt),
            ],
        )
        .await?;
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
        add_columns(
            manager,
            Settings::Table,
            [string_null(Settings::DefaultTax)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_columns(manager, Settings::Table, [Settings::DefaultTax]).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_webhook_events_unprocessed")
                    .table(WebhookEvents::Table)
                    .to_owned(),
            )
            .await?;
        drop_columns(
            manager,
            WebhookEvents::Table,
            [WebhookEvents::ProcessedAt, WebhookEvents::EnqueuedAt],
        )
        .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_document_requests_due")
                    .table(DocumentRequests::Table)
                    .to_owned(),
            )
            .await?;
        drop_columns(
            manager,
            DocumentRequests::Table,
            [
                DocumentRequests::DocumentDate,
                DocumentRequests::Reference,
                DocumentRequests::HoldedLink,
                DocumentRequests::ExpectedTotal,
                DocumentRequests::HoldedTotal,
                DocumentRequests::Trigger,
                DocumentRequests::NextAttemptAt,
                DocumentRequests::LeaseUntil,
                DocumentRequests::QueuedAt,
                DocumentRequests::AttemptsAtOpen,
            ],
        )
        .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
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
    QueuedAt,
    AttemptsAtOpen,
}

#[derive(Clone, Copy, DeriveIden)]
enum WebhookEvents {
    Table,
    ReceivedAt,
    ProcessedAt,
    EnqueuedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum Settings {
    Table,
    DefaultTax,
}
