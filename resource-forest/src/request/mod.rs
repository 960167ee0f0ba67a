//! The request path: every management request, from the authenticated caller
//! to its committed and audited result, in the order its stages run.
//!
//! ```text
//! principal  the caller resolved on a snapshot: the only maker of the RBAC
//!            subject (SID-filtered SIDs, a local caller's security groups,
//!            policies, display name)
//! pipeline   bind → authorise → (resolve linked groups, outside the lock)
//!            → run → commit + audit record, in a task of the node's own
//! revision_wait a request that asks for a revision waits, bounded, for it
//! statement  a pipeline's calls authorised against the permissions its
//!            caller held when it started (R-SESSION-1)
//! setup      setup /PrepareAD, delegated setup and RBAC import on the same
//!            commit and audit stages
//! model_apply a permission model planned or applied: each change authorised
//!            as its cmdlet, committed whole on the setup stages
//! commit     the change and its audit record as one durable unit (R-AUDIT-3)
//! audit      audit records of outcomes and refused sign-ins; the audit
//!            outbox replayed after a crash
//! what_if    a change's gains and losses per principal, not committed
//! ```
//!
//! The gRPC services (`server/`) authenticate the peer and hand the caller
//! here; nothing in this module knows about tonic.

pub mod audit;
pub mod commit;
pub mod model_apply;
pub mod pipeline;
pub mod principal;
pub mod revision_wait;
pub mod setup;
pub mod statement;
pub mod what_if;

pub use pipeline::{Invoked, MAX_ATTEMPTS};
pub use principal::Principal;
