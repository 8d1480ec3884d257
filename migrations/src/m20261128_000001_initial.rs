//! The initial schema: portals, settings, record links, sync runs and their
//! items, document requests, received webhook events, timeline entries and the
//! audit log (DESIGN §7).

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_initial"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Portals::Table)
                    .if_not_exists()
                    .col(big_integer(Portals::Id).primary_key())
                    .col(string(Portals::TimeZone).default("Europe/Madrid"))
                    .col(string(Portals::Status).default("installing"))
                    .col(text_null(Portals::StatusReason))
                    .col(text_null(Portals::AccessTokenEnc))
                    .col(text_null(Portals::RefreshTokenEnc))
                    .col(timestamp_with_time_zone_null(Portals::TokenExpiresAt))
                    .col(text_null(Portals::Scopes))
                    .col(timestamp_with_time_zone_null(Portals::NextRunAt))
                    .col(timestamp_with_time_zone_null(Portals::LastClaimedAt))
                    .col(timestamp_with_time_zone(Portals::CreatedAt))
                    .col(timestamp_with_time_zone(Portals::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_portals_next_run_at")
                    .table(Portals::Table)
                    .col(Portals::NextRunAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .if_not_exists()
                    .col(big_integer(Settings::PortalId).primary_key())
                    .col(text_null(Settings::HoldedKeyEnc))
                    .col(string_null(Settings::HoldedKeyLast4))
                    .col(string_null(Settings::HoldedApiGeneration))
                    .col(date_null(Settings::NextSyncDate))
                    .col(boolean(Settings::SyncContacts).default(true))
                    .col(boolean(Settings::SyncCompanies).default(true))
                    .col(boolean(Settings::SyncProducts).default(true))
                    .col(boolean(Settings::SyncDocuments).default(true))
                    .col(text(Settings::DocumentMapping).default("{}"))
                    .col(boolean(Settings::SensitiveData).default(false))
                    .col(timestamp_with_time_zone(Settings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Settings::Table, Settings::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecordLinks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RecordLinks::Id))
                    .col(big_integer(RecordLinks::PortalId))
                    .col(string(RecordLinks::ObjectKind))
                    .col(string(RecordLinks::HoldedId))
                    .col(string_null(RecordLinks::HubspotId))
                    .col(string_null(RecordLinks::ContentHash))
                    .col(timestamp_with_time_zone_null(RecordLinks::HoldedUpdatedAt))
                    .col(timestamp_with_time_zone_null(RecordLinks::LastSyncedAt))
                    .col(boolean(RecordLinks::DeletedInHolded).default(false))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecordLinks::Table, RecordLinks::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_record_links_holded")
                    .table(RecordLinks::Table)
                    .col(RecordLinks::PortalId)
                    .col(RecordLinks::ObjectKind)
                    .col(RecordLinks::HoldedId)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_record_links_hubspot")
                    .table(RecordLinks::Table)
                    .col(RecordLinks::PortalId)
                    .col(RecordLinks::ObjectKind)
                    .col(RecordLinks::HubspotId)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncRuns::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SyncRuns::Id))
                    .col(big_integer(SyncRuns::PortalId))
                    .col(string(SyncRuns::Trigger))
                    .col(string(SyncRuns::Status))
                    .col(boolean(SyncRuns::DryRun).default(false))
                    .col(date_null(SyncRuns::Since))
                    .col(timestamp_with_time_zone(SyncRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(SyncRuns::FinishedAt))
                    .col(text_null(SyncRuns::Error))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncRuns::Table, SyncRuns::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_runs_portal")
                    .table(SyncRuns::Table)
                    .col(SyncRuns::PortalId)
                    .col(SyncRuns::StartedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncRunObjects::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SyncRunObjects::Id))
                    .col(big_integer(SyncRunObjects::RunId))
                    .col(string(SyncRunObjects::ObjectKind))
                    .col(string(SyncRunObjects::Status))
                    .col(integer(SyncRunObjects::Created).default(0))
                    .col(integer(SyncRunObjects::Updated).default(0))
                    .col(integer(SyncRunObjects::Unchanged).default(0))
                    .col(integer(SyncRunObjects::Skipped).default(0))
                    .col(integer(SyncRunObjects::Failed).default(0))
                    .col(timestamp_with_time_zone_null(SyncRunObjects::HighWaterMark))
                    .col(text_null(SyncRunObjects::Checkpoint))
                    .col(integer(SyncRunObjects::HubspotCalls).default(0))
                    .col(integer(SyncRunObjects::HoldedCalls).default(0))
                    .col(timestamp_with_time_zone_null(SyncRunObjects::StartedAt))
                    .col(timestamp_with_time_zone_null(SyncRunObjects::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncRunObjects::Table, SyncRunObjects::RunId)
                            .to(SyncRuns::Table, SyncRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_sync_run_objects_kind")
                    .table(SyncRunObjects::Table)
                    .col(SyncRunObjects::RunId)
                    .col(SyncRunObjects::ObjectKind)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SyncRunItems::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SyncRunItems::Id))
                    .col(big_integer(SyncRunItems::RunId))
                    .col(string(SyncRunItems::ObjectKind))
                    .col(string(SyncRunItems::HoldedId))
                    .col(string_null(SyncRunItems::HubspotId))
                    .col(string(SyncRunItems::Outcome))
                    .col(text_null(SyncRunItems::Reason))
                    .col(text_null(SyncRunItems::PayloadSummary))
                    .col(boolean(SyncRunItems::Resolved).default(false))
                    .col(timestamp_with_time_zone(SyncRunItems::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncRunItems::Table, SyncRunItems::RunId)
                            .to(SyncRuns::Table, SyncRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_run_items_run")
                    .table(SyncRunItems::Table)
                    .col(SyncRunItems::RunId)
                    .col(SyncRunItems::Outcome)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DocumentRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DocumentRequests::Id))
                    .col(big_integer(DocumentRequests::PortalId))
                    .col(string(DocumentRequests::DealId))
                    .col(string(DocumentRequests::DocumentType))
                    .col(string(DocumentRequests::State).default("pending"))
                    .col(string_null(DocumentRequests::AssociateTo))
                    .col(string_null(DocumentRequests::HoldedContactId))
                    .col(string_null(DocumentRequests::HoldedDocumentId))
                    .col(string_null(DocumentRequests::HoldedDocumentNumber))
                    .col(text_null(DocumentRequests::Error))
                    .col(integer(DocumentRequests::Attempts).default(0))
                    .col(timestamp_with_time_zone(DocumentRequests::CreatedAt))
                    .col(timestamp_with_time_zone(DocumentRequests::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DocumentRequests::Table, DocumentRequests::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_document_requests_deal_type")
                    .table(DocumentRequests::Table)
                    .col(DocumentRequests::PortalId)
                    .col(DocumentRequests::DealId)
                    .col(DocumentRequests::DocumentType)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(WebhookEvents::Id))
                    .col(string_uniq(WebhookEvents::DedupeKey))
                    .col(big_integer(WebhookEvents::PortalId))
                    .col(string(WebhookEvents::SubscriptionType))
                    .col(string_null(WebhookEvents::ObjectId))
                    .col(text(WebhookEvents::Payload))
                    .col(timestamp_with_time_zone(WebhookEvents::OccurredAt))
                    .col(timestamp_with_time_zone(WebhookEvents::ReceivedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TimelineEntries::Table)
                    .if_not_exists()
                    .col(big_pk_auto(TimelineEntries::Id))
                    .col(big_integer(TimelineEntries::PortalId))
                    .col(string(TimelineEntries::DealId))
                    .col(big_integer_null(TimelineEntries::DocumentRequestId))
                    .col(string(TimelineEntries::Channel))
                    .col(text(TimelineEntries::Text))
                    .col(string_null(TimelineEntries::HubspotId))
                    .col(timestamp_with_time_zone(TimelineEntries::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TimelineEntries::Table, TimelineEntries::PortalId)
                            .to(Portals::Table, Portals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer_null(AuditLog::PortalId))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(text(AuditLog::Details))
                    .col(timestamp_with_time_zone(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_log_portal")
                    .table(AuditLog::Table)
                    .col(AuditLog::PortalId)
                    .col(AuditLog::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            TimelineEntries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            DocumentRequests::Table.into_iden(),
            SyncRunItems::Table.into_iden(),
            SyncRunObjects::Table.into_iden(),
            SyncRuns::Table.into_iden(),
            RecordLinks::Table.into_iden(),
            Settings::Table.into_iden(),
            Portals::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Portals {
    Table,
    Id,
    TimeZone,
    Status,
    StatusReason,
    AccessTokenEnc,
    RefreshTokenEnc,
    TokenExpiresAt,
    Scopes,
    NextRunAt,
    LastClaimedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    PortalId,
    HoldedKeyEnc,
    HoldedKeyLast4,
    HoldedApiGeneration,
    NextSyncDate,
    SyncContacts,
    SyncCompanies,
    SyncProducts,
    SyncDocuments,
    DocumentMapping,
    SensitiveData,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum RecordLinks {
    Table,
    Id,
    PortalId,
    ObjectKind,
    HoldedId,
    HubspotId,
    ContentHash,
    HoldedUpdatedAt,
    LastSyncedAt,
    DeletedInHolded,
}

#[derive(DeriveIden)]
enum SyncRuns {
    Table,
    Id,
    PortalId,
    Trigger,
    Status,
    DryRun,
    Since,
    StartedAt,
    FinishedAt,
    Error,
}

#[derive(DeriveIden)]
enum SyncRunObjects {
    Table,
    Id,
    RunId,
    ObjectKind,
    Status,
    Created,
    Updated,
    Unchanged,
    Skipped,
    Failed,
    HighWaterMark,
    Checkpoint,
    HubspotCalls,
    HoldedCalls,
    StartedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum SyncRunItems {
    Table,
    Id,
    RunId,
    ObjectKind,
    HoldedId,
    HubspotId,
    Outcome,
    Reason,
    PayloadSummary,
    Resolved,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DocumentRequests {
    Table,
    Id,
    PortalId,
    DealId,
    DocumentType,
    State,
    AssociateTo,
    HoldedContactId,
    HoldedDocumentId,
    HoldedDocumentNumber,
    Error,
    Attempts,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    DedupeKey,
    PortalId,
    SubscriptionType,
    ObjectId,
    Payload,
    OccurredAt,
    ReceivedAt,
}

#[derive(DeriveIden)]
enum TimelineEntries {
    Table,
    Id,
    PortalId,
    DealId,
    DocumentRequestId,
    Channel,
    Text,
    HubspotId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    PortalId,
    Actor,
    Action,
    Details,
    CreatedAt,
}
