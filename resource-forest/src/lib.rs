//! The resource forest: an Exchange organization with role-based access control,
//! trusting account forests one way over mutual TLS.
//!
//! # Layout
//! * [`rbac`]: the pure RBAC model and evaluation (no I/O, no async).
//! * [`org`]: OUs, recipients and the organization.
//! * [`trust`]: trusted forests, caller authentication, SID filtering, linked
//!   credentials.
//! * [`cmdlets`]: the management cmdlets, each declared once in its registry
//!   and authorised before any effect.
//! * [`state`]: the organization's snapshots, kept current from the store.
//! * [`store`]: where the organization is kept (embedded redb or PostgreSQL).
//! * [`audit`]: the admin audit log.
//! * [`rbac_document`]: export and import of the RBAC configuration as JSON.
//! * [`request`]: the request path: the caller resolved into its RBAC
//!   subject, bind → authorise → run → commit + audit record, what-if.
//! * [`node`]: a loaded node: configuration, trusts, store, reload.
//! * [`server`]: gRPC services and `serve(listener, node, shutdown)`.
//! * [`init`], [`config`], [`cli`]: creating, configuring and running a node.

pub mod audit;
pub mod cli;
pub mod cmdlets;
pub mod config;
pub mod init;
pub mod model;
pub mod node;
pub mod org;
pub mod rbac;
pub mod rbac_document;
pub mod request;
pub mod server;
pub mod state;
pub mod store;
pub mod trust;
