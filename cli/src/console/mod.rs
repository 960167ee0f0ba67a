//! `crossforest console`: a permissions console in the browser, over HTTPS
//! with a server certificate from the lab's resource-forest CA.
//!
//! The console signs in as one of the lab's identities (the credentials
//! `crossforest shell --as` uses) and does everything by calling the
//! resource forest's gRPC API as that identity: cmdlets through `Invoke`,
//! who-can through `WhoCan` and `Check`, what-if through
//! `ApplyPermissionModel` (plan only). So each page is authorised exactly
//! as its cmdlet, and shows that cmdlet line. Pages are rendered on the
//! server; no script runs in the browser.
//!
//! * [`html`] — escaping (one function), the layout, tables and fields.
//! * [`graph`] — a permission chain as inline SVG, with its text version.
//! * [`http`] — forms, the session cookie, replies and their headers.
//! * [`sessions`] — browser sessions (cookie, form token, the message left
//!   for the next page) and the console's [`sessions::Limits`].
//! * [`pages`] — the sections.
//! * [`server`] — TLS, connections, routing.

pub mod graph;
pub mod html;
pub mod http;
pub mod pages;
pub mod server;
pub mod sessions;

use std::path::PathBuf;

/// `crossforest console`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// The lab directory.
    #[arg(long, default_value = "crossforest-lab")]
    pub lab: PathBuf,
    /// Offer only this identity at sign-in (`DOMAIN\user` or `user@forest`);
    /// default: every identity whose credential the lab holds.
    #[arg(long = "as")]
    pub identity: Option<String>,
    /// Where to listen (HTTPS); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
}

/// Runs the console until Ctrl-C.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    server::run(args).await
}
