//! The RBAC core: pure model and evaluation, no I/O and no async, so that it can
//! be tested, benchmarked and fuzzed on its own.
//!
//! Role group member → role group → role assignment (with scope) → management
//! role → role entries (SPEC §2).
//!
//! # Layout
//! * [`model`]: roles, entries, assignments, role groups.
//! * [`scope`]: management scopes and what they match; [`opath`]: the filter
//!   language; [`compare`]: its operators and wildcards, which the shell
//!   shares.
//! * [`config`]: the stored configuration; [`catalogue`]: the built-in one.
//! * [`common_parameters`]: PowerShell's, which no role entry lists.
//! * [`evaluate`]: the compiled [`Authorizer`]; [`explain`]: why it decided;
//!   `reach`: what a caller reaches per cmdlet, kept per caller.
//! * [`lockout`]: the invariants no change may break (R-LOCK-1..4).

pub mod catalogue;
pub mod common_parameters;
pub mod compare;
pub mod config;
pub mod evaluate;
pub mod explain;
pub mod lockout;
pub mod model;
pub mod opath;
mod reach;
pub mod scope;

pub use config::RbacConfig;
pub use evaluate::{Access, Authorizer, Request, Subject, Target};
pub use explain::{Chain, Denial, Explanation, Link};
pub use reach::Caller;
