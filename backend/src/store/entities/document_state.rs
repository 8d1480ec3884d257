//! The last state of a deal's Holded document told on the deal's timeline.

use sea_orm::entity::prelude::*;

/// One document of a portal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_states")]
pub struct Model {
    /// Portal.
    #[sea_orm(primary_key, auto_increment = false)]
    pub portal_id: i64,
    /// Holded document id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub holded_id: String,
    /// v1 document type.
    pub doc_type: String,
    /// Number, once it has one.
    pub number: Option<String>,
    /// `borrador`, `emitida`, `cobrada_parcialmente`, `cobrada`, `vencida`, `anulada`.
    pub status: String,
    /// Amount paid (decimal text).
    pub paid: String,
    /// Amount left to pay (decimal text).
    pub pending: String,
    /// Currency (ISO 4217, as Holded reports it).
    pub currency: String,
    /// When it was told.
    pub updated_at: DateTimeUtc,
}

/// Relations are navigated with explicit queries.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
