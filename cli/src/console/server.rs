//! The console's HTTPS server: a server certificate issued at start from
//! the lab's resource-forest CA, bounded connections and bodies, sign-in
//! and sign-out, and routing to [`super::pages`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::BodyExt as _;
use hyper::header::{CONTENT_LENGTH, COOKIE, HOST, ORIGIN};
use hyper::{Method, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::html::{self, Header};
use super::http::{decode_form, session_cookie, Fields, Reply};
use super::pages::{self, Outcome};
use super::sessions::{csrf_matches, idle_text, BrowserSession, Limits, Lookup, Sessions};
use super::ConsoleArgs;
use crate::lab::Lab;

/// The most connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// How long a client has for its TLS handshake, and for a request's headers.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The console's state.
pub struct Console {
    /// The lab.
    pub lab: Lab,
    /// The one identity offered, if `--as` named one (as the lab spells it).
    pub only: Option<String>,
    /// The console's key, drawn at start: sign-in needs it, so that reaching
    /// the port is not enough to act as the lab's identities.
    key: String,
    sessions: Sessions,
}

impl Console {
    /// The console of `lab`, offering only `only` if given, within `limits`.
    pub fn new(lab: Lab, only: Option<String>, limits: Limits) -> Self {
        Self {
            lab,
            only,
            key: super::sessions::random_token(),
            sessions: Sessions::new(limits),
        }
    }

    /// The key sign-in asks for (printed once, at start, to whoever started
    /// the console: that person already holds the lab's credentials).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Everything about the console's server certificate a browser needs.
pub struct ServerCertificate {
    /// The rustls configuration.
    pub tls: rustls::ServerConfig,
    /// base64 SHA-256 of the certificate's public key (SPKI), for
    /// Chromium's `--ignore-certificate-errors-spki-list`.
    pub spki_sha256: String,
}

/// Issues the console's server certificate (DNS `localhost`, the resource
/// forest's name, IP 127.0.0.1) from the lab's resource-forest CA.
pub fn server_certificate(lab: &Lab) -> anyhow::Result<ServerCertificate> {
    let resource = &lab.file().resource;
    let ca = crossforest_shared::pki::CertificateAuthority::load(
        resource,
        &lab.node_dir(resource).join("pki"),
    )?;
    let issued = ca.issue_server(&[])?;
    let (chain, key) = crossforest_shared::tls::certified_key_parts(&issued, "console server")?;
    let leaf = chain
        .first()
        .context("the console's certificate is missing")?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| anyhow::anyhow!("the console's certificate does not parse: {e}"))?;
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        parsed.tbs_certificate.subject_pki.raw,
    );
    use base64::Engine as _;
    let spki_sha256 = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let mut tls =
        rustls::ServerConfig::builder_with_provider(crossforest_shared::tls::crypto_provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerCertificate { tls, spki_sha256 })
}

/// Serves the console on `args.listen` until Ctrl-C.
pub async fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    let lab = Lab::open(&args.lab)?;
    let only = match &args.identity {
        Some(identity) => Some(lab.identity(identity)?.display()),
        None => None,
    };
    let certificate = server_certificate(&lab)?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on `{}`", args.listen))?;
    let address = listener.local_addr()?;
    let resource = lab.file().resource.clone();
    eprintln!(
        "console on https://{address}/ (server certificate from {resource}'s CA, {ca}; SPKI sha256 {spki})",
        ca = lab.node_dir(&resource).join("pki").join("ca.pem").display(),
        spki = certificate.spki_sha256,
    );
    let console = Arc::new(Console::new(lab, only, Limits::default()));
    let sign_in = format!("https://{address}/sign-in?key={}", console.key());
    eprintln!(
        "open it in a browser that trusts that CA, or: chromium --user-data-dir=\"$(mktemp -d)\" --ignore-certificate-errors-spki-list={} '{sign_in}'",
        certificate.spki_sha256
    );
    eprintln!(
        "sign in at {sign_in} (the key is this run's; whoever has it may act as the identities offered)"
    );
    serve(console, listener, certificate.tls, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves `console` on `listener` with `tls` until `shutdown` completes.
pub async fn serve(
    console: Arc<Console>,
    listener: TcpListener,
    tls: rustls::ServerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let permit = slots.clone().acquire_owned().await?;
        let (tcp, _) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "console: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (console, acceptor) = (console.clone(), acceptor.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await else {
                return;
            };
            let service = hyper::service::service_fn(move |request| {
                let console = console.clone();
                async move { Ok::<_, Infallible>(handle(&console, request).await.into_response()) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE)
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// One request.
async fn handle(console: &Console, request: hyper::Request<hyper::body::Incoming>) -> Reply {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = Fields(decode_form(request.uri().query().unwrap_or("").as_bytes()));
    let cookie = session_cookie(request.headers().get(COOKIE));
    let same_origin = same_origin(&request);
    if method == Method::POST && !same_origin {
        return bare(
            StatusCode::FORBIDDEN,
            "Refused",
            "the form was sent from another site (its Origin is not this console)",
        );
    }
    let max_body = console.sessions.limits().max_body;
    let too_large = || {
        bare(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            &format!("the console reads at most {max_body} bytes per request"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|l| l.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max_body as u64) {
        // Refused on its declared length, before any of it is read.
        return too_large();
    }
    let form = if method == Method::POST {
        match http_body_util::Limited::new(request.into_body(), max_body)
            .collect()
            .await
        {
            Ok(body) => Fields(decode_form(&body.to_bytes())),
            Err(_) => return too_large(),
        }
    } else {
        Fields::default()
    };
    let lookup = match &cookie {
        Some(id) => console.sessions.get(id),
        None => Lookup::Unknown,
    };
    // Why a request with a cookie has no session: it ended idle, or it is
    // not (any longer) open.
    let (signed_in, flash, ended) = match lookup {
        Lookup::Open(browser, flash) => (Some(browser), flash, None),
        Lookup::Expired => (None, None, Some("idle")),
        Lookup::Unknown => (None, None, cookie.as_ref().map(|_| "closed")),
    };
    match (&method, path.as_str(), signed_in) {
        (&Method::GET, "/sign-in", _) => Reply::html(sign_in_page(
            console,
            query.get("key"),
            None,
            ended_message(console, query.get("ended")),
        )),
        (&Method::POST, "/sign-in", _) => sign_in(console, &form).await,
        (_, _, None) => match ended {
            Some(why) => Reply::redirect(&format!("/sign-in?ended={why}")).set_session(None),
            None => Reply::redirect("/sign-in"),
        },
        (&Method::POST, _, Some(browser)) if !csrf_matches(&browser.csrf, form.get("csrf")) => {
            bare(
                StatusCode::FORBIDDEN,
                "Refused",
                "the form's token is missing or belongs to another session; reload the page and try again",
            )
        }
        (&Method::POST, "/sign-out", Some(_)) => {
            if let Some(id) = &cookie {
                console.sessions.close(id);
            }
            Reply::redirect("/sign-in").set_session(None)
        }
        (_, _, Some(mut browser)) => {
            let outcome = pages::route(console, &mut browser, &method, &path, &query, &form).await;
            let (status, title, main) = match outcome {
                None => {
                    return bare(
                        StatusCode::NOT_FOUND,
                        "Not found",
                        &format!("the console has no page `{path}`"),
                    )
                }
                Some(Outcome::Done { to, message }) => {
                    if let Some(id) = &cookie {
                        console.sessions.flash(id, message);
                    }
                    return Reply::redirect(&to);
                }
                Some(Outcome::Page(status, title, main)) => (status, title, main),
            };
            let header = Header {
                identity: &browser.identity,
                csrf: &browser.csrf,
            };
            let current = html::SECTIONS
                .iter()
                .map(|(p, _)| *p)
                .find(|p| path.starts_with(p))
                .unwrap_or("");
            let main = flash.unwrap_or_default() + &main;
            Reply::with_status(status, html::page(&title, current, Some(&header), &main))
        }
    }
}

/// What the sign-in page says about a session that ended (`?ended=`).
fn ended_message(console: &Console, ended: &str) -> Option<String> {
    match ended {
        "idle" => Some(format!(
            "Your session ended after {} without a request. Sign in again.",
            idle_text(console.sessions.limits().idle)
        )),
        "closed" => Some(
            "Your session has ended (signed out, or the console restarted). Sign in again."
                .to_owned(),
        ),
        _ => None,
    }
}

/// Whether a POST comes from the console's own pages: its `Origin`, when
/// the browser sends one, is `https://` and the `Host` it was sent to.
fn same_origin(request: &hyper::Request<hyper::body::Incoming>) -> bool {
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    match request.headers().get(ORIGIN).map(|o| o.to_str()) {
        None => true,
        Some(Ok(origin)) => host.is_some_and(|h| origin == format!("https://{h}")),
        Some(Err(_)) => false,
    }
}

/// A page without navigation: a refusal or error with what went wrong.
fn bare(status: StatusCode, title: &str, why: &str) -> Reply {
    Reply::with_status(
        status,
        html::page(
            title,
            "",
            None,
            &format!(
                "{}<p><a href=\"/\">Back to the console</a></p>",
                html::error(title, why)
            ),
        ),
    )
}

/// Every identity the console offers at sign-in: `--as`, else each
/// credential of the resource forest and the trusted account forests
/// (an account forest's user needs its password file too).
pub fn identities(console: &Console) -> Vec<String> {
    if let Some(only) = &console.only {
        return vec![only.clone()];
    }
    let lab = &console.lab;
    let resource = &lab.file().resource;
    let mut out = Vec::new();
    for forest in std::iter::once(resource).chain(&lab.file().accounts) {
        let dir = lab.node_dir(forest).join("credentials");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut users: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let user = name.strip_suffix(".pem")?.to_owned();
                (forest == resource || dir.join(format!("{user}.password")).exists())
                    .then_some(user)
            })
            .collect();
        users.sort_by_key(|u| u.to_lowercase());
        out.extend(
            users
                .into_iter()
                .map(|u| format!("{}\\{u}", forest.netbios())),
        );
    }
    out
}

/// The sign-in page: without the console's key, a field for it; with it,
/// the identities offered (the key travels on, hidden).
fn sign_in_page(
    console: &Console,
    key: &str,
    failure: Option<(&str, &str)>,
    ended: Option<String>,
) -> String {
    let mut main = ended.map(|m| html::notice(&m)).unwrap_or_default();
    if let Some((identity, why)) = failure {
        main.push_str(&html::error(
            &format!("Could not sign in as {identity}"),
            why,
        ));
    }
    main.push_str(
        "<p>The console acts for one of the lab's identities, with the credential \
         <code>crossforest shell --as</code> uses: a resource-forest user with its \
         certificate, an account-forest user with its certificate and a forest token \
         from its home forest. Every page runs the cmdlet it shows, as that identity.</p>",
    );
    if !csrf_matches(console.key(), key) {
        main.push_str(
            "<form class=\"panel\" method=\"get\" action=\"/sign-in\"><div class=\"field\">\
             <label for=\"key\">Console key</label>\
             <input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"off\" required \
             aria-describedby=\"key-hint\">\
             <p class=\"hint\" id=\"key-hint\">printed by <code>crossforest console</code> when it \
             started, in the sign-in address it gave</p></div>\
             <button type=\"submit\">Continue</button></form>",
        );
        return html::page("Sign in", "", None, &main);
    }
    main.push_str(&format!(
        "<form class=\"panel\" method=\"post\" action=\"/sign-in\">\
         <input type=\"hidden\" name=\"key\" value=\"{}\"><div class=\"field\">\
         <label for=\"identity\">Identity</label><select id=\"identity\" name=\"identity\">",
        html::escape(key)
    ));
    for identity in identities(console) {
        main.push_str(&format!(
            "<option value=\"{0}\">{0}</option>",
            html::escape(&identity)
        ));
    }
    main.push_str("</select></div><button type=\"submit\">Sign in</button></form>");
    html::page("Sign in", "", None, &main)
}

async fn sign_in(console: &Console, form: &Fields) -> Reply {
    let (identity, key) = (form.get("identity"), form.get("key"));
    if !csrf_matches(console.key(), key) {
        // One answer for a missing or wrong key, whatever the identity.
        return Reply::with_status(
            StatusCode::UNAUTHORIZED,
            sign_in_page(
                console,
                "",
                Some((
                    "this identity",
                    "the console key is missing or wrong: use the sign-in address crossforest console printed when it started",
                )),
                None,
            ),
        );
    }
    if !identities(console).iter().any(|i| i == identity) {
        let why = format!("`{identity}` is not among the identities this console offers");
        return Reply::with_status(
            StatusCode::BAD_REQUEST,
            sign_in_page(console, key, Some((identity, &why)), None),
        );
    }
    let opened = async {
        let mut session = console.lab.session(identity).await?;
        session.who_am_i().await?;
        anyhow::Ok(session)
    }
    .await;
    let session = match opened {
        Ok(session) => session,
        Err(e) => {
            return Reply::with_status(
                StatusCode::UNAUTHORIZED,
                sign_in_page(console, key, Some((identity, &format!("{e:#}"))), None),
            )
        }
    };
    let browser = BrowserSession {
        identity: identity.to_owned(),
        csrf: super::sessions::random_token(),
        session,
    };
    match console.sessions.open(browser) {
        Ok(id) => Reply::redirect("/role-groups").set_session(Some(&id)),
        Err(full) => bare(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sessions",
            &full.to_string(),
        ),
    }
}
