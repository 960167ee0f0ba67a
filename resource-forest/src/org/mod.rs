//! Exchange objects of the resource forest: organizational units and recipients
//! (domain partition), and the organization that holds them with its RBAC
//! configuration.

pub mod attributes;
pub mod connectors;
pub mod identity_index;
pub mod organization;
pub mod permission_model;
pub mod preparation;
pub mod recipients;
pub mod servers;

/// Organizational units (a shared type: RBAC scopes name them too).
pub use crossforest_shared::ou;
pub use identity_index::Recipients;
pub use organization::{OrgError, Organization};
