//! sea-orm entities, one module per table.

pub mod portal;
pub mod sync_run;
