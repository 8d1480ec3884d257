//! Column helpers shared by the migrations (SQLite changes one column per
//! ALTER TABLE, so each helper issues one statement per column).

use sea_orm_migration::prelude::*;

/// Adds `columns` to `table`, one ALTER TABLE each (SQLite takes one column per statement).
pub async fn add_columns<const N: usize>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy,
    columns: [ColumnDef; N],
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(Table::alter().table(table).add_column(column).to_owned())
            .await?;
    }
    Ok(())
}

/// Drops `columns` from `table`, one ALTER TABLE each.
pub async fn drop_columns<const N: usize>(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy,
    columns: [impl IntoIden; N],
) -> Result<(), DbErr> {
    for column in columns {
        manager
            .alter_table(Table::alter().table(table).drop_column(column).to_owned())
            .await?;
    }
    Ok(())
}
