//! The `crossforest` command: the demo, a local lab, and the management shell.
//!
//! # Layout
//! * [`lang`]: the shell's language (a PowerShell subset): parser, checks,
//!   evaluator, and the utility cmdlets it runs itself.
//! * [`parse`]: one cmdlet line as sent to the resource forest.
//! * [`session`]: a management session as one principal (local or foreign).
//! * [`lab`]: a local lab of forests on disk.
//! * [`pki`]: `crossforest pki`: list, issue and rotate certificates.
//! * [`ca_rotation`]: `crossforest pki rotate --what ca`: a forest's CA, with overlap.
//! * [`issue_user`]: `crossforest pki issue-user`: credentials for the resource forest's users.
//! * [`sign_in`]: who `--as` names (`DOMAIN\user` or `user@forest`, any case).
//! * [`processes`]: running a lab's nodes as processes.
//! * [`node_process`]: one node as an OS process, and its signals.
//! * [`demo`]: `crossforest demo`.
//! * [`shell`]: `crossforest shell`: one line, scripts; one statement at a time.
//! * [`repl`]: the interactive shell (history, completion, continuation).
//! * [`pipeline`]: running pipelines, binding piped records to parameters.
//! * [`output`]: list, table, JSON and JSON-lines output.
//! * [`console`]: `crossforest console`: the permissions console in the browser.

pub mod ca_rotation;
pub mod console;
pub mod demo;
pub mod host;
pub mod issue_user;
pub mod lab;
pub mod lang;
pub mod model;
pub mod model_plan;
pub mod node_process;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod pki;
pub mod processes;
pub mod repl;
pub mod session;
pub mod shell;
pub mod sign_in;
