//! The RBAC core: pure model and evaluation, no I/O and no async, so that it can
//! be tested, benchmarked and fuzzed on its own.
//!
//! Role group member → role group → role assignment (with scope) → management
//! role → role entries (SPEC §2).

pub mod catalogue;
pub mod config;
pub mod evaluate;
pub mod model;

pub use config::RbacConfig;
pub use evaluate::{Access, Authorizer, Decision, Denial, Grant, Request, Subject, Target, Via};
