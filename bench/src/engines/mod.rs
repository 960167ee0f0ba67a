//! The three engines deciding the same stream: crossforest's RBAC core, Cedar
//! and casbin, behind one trait.

use anyhow::{Context as _, Result};

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

/// The caller, recipient and actions `request` names in a peer engine's
/// translated tables.
///
/// # Errors
/// When an index is out of range (a translation bug).
pub(crate) fn request_parts<'a, U, R, A>(
    users: &'a [U],
    recipients: &'a [R],
    kinds: &'a [Vec<A>],
    request: &StreamRequest,
) -> Result<(&'a U, &'a R, &'a [A])> {
    let user = users
        .get(request.caller as usize)
        .context("caller out of range")?;
    let recipient = recipients
        .get(request.recipient as usize)
        .context("recipient out of range")?;
    let actions = kinds
        .get(request.kind as usize)
        .context("request kind out of range")?;
    Ok((user, recipient, actions))
}
