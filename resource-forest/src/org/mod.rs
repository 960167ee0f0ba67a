//! Exchange objects of the resource forest: organizational units and recipients
//! (domain partition), and the organization that holds them with its RBAC
//! configuration.

pub mod attributes;
pub mod connectors;
pub mod identity_index;
pub mod organization;
pub mod ou;
pub mod permission_model;
pub mod recipients;
pub mod servers;

pub use identity_index::Recipients;
pub use organization::{OrgError, Organization};
