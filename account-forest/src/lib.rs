//! An account forest: a directory of users and nested universal security groups,
//! served over gRPC with mutual TLS. It trusts only its own CA (R-TRUST-1),
//! authenticates its users and issues signed forest tokens, and answers the
//! resource forest's lookups made with a linked credential it issued (R-TRUST-2).
//!
//! # Layout
//! * [`directory`]: the directory model (pure).
//! * [`changes`]: the change log behind the change feed.
//! * [`feed`]: the change feed served to linked credentials.
//! * [`hashing`]: password checks within a memory budget.
//! * [`lockout`]: AD's account lockout policy, per account, in memory.
//! * [`node`]: a loaded node: directory state, CA, token signer.
//! * [`service`]: the `Directory` and `DirectoryAdmin` gRPC services.
//! * [`server`]: `serve(listener, node, shutdown)`.
//! * [`init`]: creating a node on disk.
//! * [`admin`]: the admin tools' client.
//! * [`cli`]: the command line.

pub mod admin;
pub mod changes;
pub mod cli;
pub mod config;
pub mod directory;
pub mod feed;
pub mod hashing;
pub mod init;
pub mod lockout;
pub mod node;
pub mod server;
pub mod service;
pub mod store;
