//! Tenant isolation and request authenticity: signatures of signed writes
//! already seen (replay refusal), who besides super admins may change a
//! portal's settings, a portal whose HubSpot access is failing for now
//! (degraded, not disconnected) or lacks scopes, when the app was uninstalled
//! from a portal, which run holds a portal's sync lock, server-side console sessions and failed console logins
//! (throttling), links whose HubSpot contact was erased for privacy, a
//! trigger that arrived while a worker held a document request, the
//! per-portal HubSpot request budget every process shares, and the indexes
//! that let journals be pruned by age.

use sea_orm_migration::{prelude::*, schema::*};

use crate::columns::{add_columns, drop_columns};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000006_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignedRequests::Table)
                    .if_not_exists()
                    .col(string(SignedRequests::SignatureHash).primary_key())
                    .col(timestamp_with_time_zone(SignedRequests::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ConsoleSessions::Table)
                    .if_not_exists()
                    .col(string(ConsoleSessions::Id).primary_key())
                    .col(string(ConsoleSessions::TokenFingerprint))
                    .col(timestamp_with_time_zone(ConsoleSessions::CreatedAt))
                    .col(timestamp_with_time_zone(ConsoleSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ConsoleSessions::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LoginFailures::Table)
                    .if_not_exists()
                    .col(string(LoginFailures::Key).primary_key())
                    .col(integer(LoginFailures::Failures))
                    .col(timestamp_with_time_zone(LoginFailures::FirstFailedAt))
                    .col(timestamp_with_time_zone_null(LoginFailures::LockedUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiBudgets::Table)
                    .if_not_exists()
                    .col(string(ApiBudgets::Key).primary_key())
                    .col(big_integer(ApiBudgets::TatMs))
                    .to_owned(),
            )
            .await?;
        add_columns(
            manager,
            Settings::Table,
            [text_null(Settings::AllowedEditors)],
        )
        .await?;
        add_columns(
            manager,
            Portals::Table,
            [
                timestamp_with_time_zone_null(Portals::DegradedSince),
                text_null(Portals::DegradedReason),
                text_null(Portals::MissingScopes),
                timestamp_with_time_zone_null(Portals::UninstalledAt),
                string_null(Portals::SyncLockOwner),
            ],
        )
        .await?;
        add_columns(
            manager,
            RecordLinks::Table,
            [timestamp_with_time_zone_null(RecordLinks::ErasedAt)],
        )
        .await?;
        add_columns(
            manager,
            DocumentRequests::Table,
            [timestamp_with_time_zone_null(
                DocumentRequests::RetriggeredAt,
            )],
        )
        .await?;
        for (name, table, column) in AGE_INDEXES {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .if_not_exists()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table, _) in AGE_INDEXES {
            manager
                .drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        drop_columns(
            manager,
            DocumentRequests::Table,
            [DocumentRequests::RetriggeredAt],
        )
        .await?;
        drop_columns(manager, RecordLinks::Table, [RecordLinks::ErasedAt]).await?;
        drop_columns(
            manager,
            Portals::Table,
            [
                Portals::DegradedSince,
                Portals::DegradedReason,
                Portals::MissingScopes,
                Portals::UninstalledAt,
                Portals::SyncLockOwner,
            ],
        )
        .await?;
        drop_columns(manager, Settings::Table, [Settings::AllowedEditors]).await?;
        for table in [
            Alias::new("api_budgets"),
            Alias::new("login_failures"),
            Alias::new("console_sessions"),
            Alias::new("signed_requests"),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Indexes on the timestamps by which rows are pruned.
const AGE_INDEXES: [(&str, Journal, Journal); 3] = [
    (
        "idx_signed_requests_expires_at",
        Journal::SignedRequests,
        Journal::ExpiresAt,
    ),
    (
        "idx_webhook_events_received_at",
        Journal::WebhookEvents,
        Journal::ReceivedAt,
    ),
    (
        "idx_timeline_entries_created_at",
        Journal::TimelineEntries,
        Journal::CreatedAt,
    ),
];

#[derive(Clone, Copy, DeriveIden)]
enum Journal {
    SignedRequests,
    WebhookEvents,
    TimelineEntries,
    ExpiresAt,
    ReceivedAt,
    CreatedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum SignedRequests {
    Table,
    SignatureHash,
    ExpiresAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum ConsoleSessions {
    Table,
    Id,
    TokenFingerprint,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum LoginFailures {
    Table,
    Key,
    Failures,
    FirstFailedAt,
    LockedUntil,
}

#[derive(Clone, Copy, DeriveIden)]
enum ApiBudgets {
    Table,
    Key,
    TatMs,
}

#[derive(Clone, Copy, DeriveIden)]
enum Settings {
    Table,
    AllowedEditors,
}

#[derive(Clone, Copy, DeriveIden)]
enum Portals {
    Table,
    DegradedSince,
    DegradedReason,
    MissingScopes,
    UninstalledAt,
    SyncLockOwner,
}

#[derive(Clone, Copy, DeriveIden)]
enum DocumentRequests {
    Table,
    RetriggeredAt,
}

#[derive(Clone, Copy, DeriveIden)]
enum RecordLinks {
    Table,
    ErasedAt,
}
