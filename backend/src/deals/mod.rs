//! HubSpot deal → Holded document (DESIGN §1, requirement 2). In progress:
//! the Activity timeline writer is here; the deal job comes next.

pub mod money;
pub mod timeline;
