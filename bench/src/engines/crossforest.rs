//! crossforest's own `Authorizer`, as the product runs it.

use anyhow::{Context as _, Result};
use resource_forest::rbac::{Access, Authorizer, Caller as Principal, Request, Target};

use super::Engine;
use crate::model::{policies, Caller, Model};
use crate::stream::{RequestKind, StreamRequest};

/// crossforest's compiled RBAC configuration and what a request refers to.
pub struct Crossforest<'m> {
    authorizer: Authorizer,
    model: &'m Model,
    /// Each caller built once, as the server builds a token's principal.
    principals: Vec<Principal>,
    kinds: &'m [RequestKind],
}

impl<'m> Crossforest<'m> {
    /// Compiles the model's configuration.
    pub fn new(model: &'m Model, callers: &'m [Caller], kinds: &'m [RequestKind]) -> Self {
        Self {
            authorizer: Authorizer::new(&model.config),
            model,
            principals: callers
                .iter()
                .map(|c| Principal::new(c.user, c.sids.clone(), policies()))
                .collect(),
            kinds,
        }
    }
}

impl Engine for Crossforest<'_> {
    fn name(&self) -> &'static str {
        "crossforest"
    }

    fn decide(&self, request: &StreamRequest) -> Result<bool> {
        let caller = self
            .principals
            .get(request.caller as usize)
            .context("caller out of range")?;
        let kind = self
            .kinds
            .get(request.kind as usize)
            .context("request kind out of range")?;
        let recipient = self
            .model
            .recipients
            .get(request.recipient as usize)
            .context("recipient out of range")?;
        Ok(self.authorizer.check_caller(
            caller,
            &Request {
                cmdlet: kind.cmdlet,
                parameters: &kind.parameters,
                target: Target::Recipient(recipient),
                access: Access::Write,
            },
        ))
    }
}
