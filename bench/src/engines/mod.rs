//! The three engines deciding the same stream: crossforest's RBAC core, Cedar
//! and casbin, behind one trait.

use anyhow::Result;

use crate::stream::StreamRequest;

pub mod casbin_rbac;
pub mod cedar;
pub mod crossforest;

/// An engine that decides the stream's requests.
pub trait Engine {
    /// Its name in reports.
    fn name(&self) -> &'static str;

    /// Whether `request` is allowed.
    ///
    /// # Errors
    /// When the engine fails to evaluate (a translation bug), never for a
    /// denial.
    fn decide(&self, request: &StreamRequest) -> Result<bool>;
}
