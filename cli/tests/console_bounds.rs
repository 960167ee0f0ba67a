//! The console's bounds, against its HTTPS server run in the test (no
//! browser): a body over the limit is refused with 413 before it is read
//! whole; a POST from a foreign Origin, or without the session's form
//! token, with 403; the session cap; and a session that ended (idle, or
//! signed out) leads to the sign-in page, which says why. The limits are
//! set small through [`Limits`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use crossforest_cli::console::server::{serve, server_certificate, Console};
use crossforest_cli::console::sessions::Limits;
use crossforest_cli::lab::Lab;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, LOCATION, SET_COOKIE};
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A console served in the test, and a TLS client trusting the lab's CA.
struct Served {
    address: std::net::SocketAddr,
    /// The console's key (sign-in needs it).
    key: String,
    tls: TlsConnector,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A reply: status, headers, body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }

    /// The session id the reply sets (`None` when it clears it or sets none).
    fn session(&self) -> Option<String> {
        let cookie = self.headers.get(SET_COOKIE)?.to_str().ok()?;
        let value = cookie.split(';').next()?.split_once('=')?.1;
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// The form token of the page.
    fn csrf(&self) -> String {
        let (_, rest) = self
            .body
            .split_once("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form token in {}", self.body));
        rest.split('"').next().unwrap().to_owned()
    }
}

async fn start(lab: &Lab, limits: Limits) -> Served {
    let certificate = server_certificate(lab).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let console = Arc::new(Console::new(Lab::open(lab.dir()).unwrap(), None, limits));
    let key = console.key().to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(console, listener, certificate.tls, async {
        let _ = stopped.await;
    }));
    let resource = &lab.file().resource;
    let ca = std::fs::read_to_string(lab.node_dir(resource).join("pki").join("ca.pem")).unwrap();
    let mut store = crossforest_shared::tls::ForestTrustStore::new();
    store.trust(resource.clone(), &ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for ca in store.cas(resource).unwrap() {
        roots.add(ca.clone()).unwrap();
    }
    let config =
        rustls::ClientConfig::builder_with_provider(crossforest_shared::tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    Served {
        address,
        key,
        tls: TlsConnector::from(Arc::new(config)),
        _stop: stop,
    }
}

impl Served {
    async fn connect(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.address).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        self.tls.connect(name, tcp).await.unwrap()
    }

    /// One request on its own connection (hyper's HTTP/1.1 client).
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(self.connect().await))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("localhost:{}", self.address.port()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if method == "POST" {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// A GET in the session `id`.
    async fn get(&self, path: &str, id: &str) -> Answer {
        self.send("GET", path, &[("cookie", &cookie(id))], "").await
    }

    /// A POST of `form` in the session `id`.
    async fn post(&self, path: &str, id: &str, form: &str) -> Answer {
        self.send("POST", path, &[("cookie", &cookie(id))], form)
            .await
    }

    async fn sign_in(&self) -> Answer {
        self.sign_in_with(&self.key).await
    }

    async fn sign_in_with(&self, key: &str) -> Answer {
        let form = format!("identity=contoso%5CAdministrator&key={key}");
        self.send("POST", "/sign-in", &[], &form).await
    }
}

fn cookie(id: &str) -> String {
    format!("crossforest_console={id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_keeps_its_bounds_and_says_why_a_session_ended() {
    let dir = tempfile::tempdir().unwrap();
    let _running = tokio::task::block_in_place(|| common::up(dir.path(), &[], &[]));
    let lab = Lab::open(dir.path()).unwrap();
    let served = start(
        &lab,
        Limits {
            max_sessions: 1,
            max_body: 1024,
            ..Limits::default()
        },
    )
    .await;

    // A body declared larger than the limit: 413 while most of it is
    // still unsent, so the console did not wait to read it whole.
    let mut raw = served.connect().await;
    raw.write_all(
        format!(
            "POST /sign-in HTTP/1.1\r\nHost: localhost:{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n\r\nidentity=",
            served.address.port()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    raw.flush().await.unwrap();
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        // A console that waited for the rest of the body would never
        // answer: a guard against hanging, not a measure of speed.
        let n = tokio::time::timeout(Duration::from_secs(120), raw.read(&mut buffer))
            .await
            .expect("no reply while the body was unsent: the console waits to read it")
            .unwrap();
        assert!(
            n > 0,
            "closed without a reply: {}",
            String::from_utf8_lossy(&head)
        );
        head.extend_from_slice(&buffer[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    // Just over the limit is over it.
    let over = served
        .send("POST", "/sign-in", &[], &"x".repeat(2048))
        .await;
    assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(over.body.contains("at most 1024 bytes"), "{}", over.body);

    // A form sent from another site is refused, before anything else.
    let foreign = served
        .send(
            "POST",
            "/sign-in",
            &[("origin", "https://evil.example")],
            "identity=contoso%5CAdministrator",
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert!(
        foreign.body.contains("its Origin is not this console"),
        "{}",
        foreign.body
    );
    assert!(foreign.session().is_none());

    // Without the console's key, or with another, no session and one answer
    // (reaching the port is not enough to act as the lab's identities).
    for key in ["", "AAAA", &served.key[1..]] {
        let refused = served.sign_in_with(key).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
        assert!(
            refused.body.contains("the console key is missing or wrong"),
            "{}",
            refused.body
        );
        assert!(refused.session().is_none());
    }

    // Signed in: the session cookie, and the one place the cap allows.
    let signed_in = served.sign_in().await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(signed_in.location(), "/role-groups");
    let id = signed_in.session().expect("a session cookie");
    let second = served.sign_in().await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        second
            .body
            .contains("the console has 1 browser sessions open, its limit"),
        "{}",
        second.body
    );

    // A change without the session's form token, or with another's, is
    // refused and changes nothing.
    let page = served.get("/role-groups", &id).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    for form in [
        "name=Bounds+Admins&roles=Mail+Recipients".to_owned(),
        "name=Bounds+Admins&roles=Mail+Recipients&csrf=not-the-token".to_owned(),
    ] {
        let refused = served.post("/role-groups/new", &id, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{form}");
        assert!(
            refused
                .body
                .contains("token is missing or belongs to another session"),
            "{}",
            refused.body
        );
    }
    let page = served.get("/role-groups", &id).await;
    assert!(!page.body.contains("Bounds Admins"));

    // POST/redirect/GET: a change answers 303 to its page; the outcome is
    // shown there once, carried in the session, not in the URL.
    let created = served
        .post(
            "/role-groups/new",
            &id,
            &format!("name=Bounds+Admins&roles=Mail+Recipients&csrf={csrf}"),
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        created.location(),
        "/role-groups/detail?identity=Bounds+Admins"
    );
    let shown = served.get(created.location(), &id).await;
    assert!(
        shown.body.contains("Role group `Bounds Admins` created."),
        "{}",
        shown.body
    );
    let again = served.get(created.location(), &id).await;
    assert!(!again.body.contains("created."), "{}", again.body);
    // A refusal is shown at once with its status and the form as filled.
    let duplicate = served
        .post(
            "/role-groups/new",
            &id,
            &format!("name=Bounds+Admins&roles=Mail+Recipients&csrf={csrf}"),
        )
        .await;
    assert_eq!(
        duplicate.status,
        StatusCode::BAD_REQUEST,
        "{}",
        duplicate.body
    );
    assert!(
        duplicate.body.contains("New-RoleGroup failed"),
        "{}",
        duplicate.body
    );
    assert!(
        duplicate
            .body
            .contains("name=\"name\" value=\"Bounds Admins\""),
        "{}",
        duplicate.body
    );

    let added = served
        .post(
            "/role-groups/add-member",
            &id,
            &format!("identity=Bounds+Admins&member=Administrator&csrf={csrf}"),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        added.location(),
        "/role-groups/detail?identity=Bounds+Admins"
    );

    // Set-RoleGroup from the group's page: the change form is filled from
    // the group; a change answers 303 and shows; a manager the directory
    // does not know is refused with the form as filled, nothing changed.
    let detail = served
        .get("/role-groups/detail?identity=Bounds+Admins", &id)
        .await;
    assert!(
        detail.body.contains("action=\"/role-groups/set\""),
        "{}",
        detail.body
    );
    let changed = served
        .post(
            "/role-groups/set",
            &id,
            &format!("identity=Bounds+Admins&description=Console+bounds&csrf={csrf}"),
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let shown = served.get(changed.location(), &id).await;
    assert!(
        shown.body.contains(
            "Set-RoleGroup -Identity &#39;Bounds Admins&#39; -Description &#39;Console bounds&#39;"
        ),
        "{}",
        shown.body
    );
    assert!(
        shown
            .body
            .contains("name=\"description\" value=\"Console bounds\""),
        "{}",
        shown.body
    );
    let refused = served
        .post(
            "/role-groups/set",
            &id,
            &format!("identity=Bounds+Admins&managedby=contoso%5Cnobody&csrf={csrf}"),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(
        refused.body.contains("Set-RoleGroup failed"),
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("name=\"managedby\" value=\"contoso\\nobody\""),
        "{}",
        refused.body
    );

    // A role added from the group's page (New-ManagementRoleAssignment with
    // an OU write scope) shows among its assignments, with a Remove… link;
    // a role the organization does not have is refused with the form as
    // filled; removing the assignment asks first (a GET that changes
    // nothing), then removes it.
    let detail = served
        .get("/role-groups/detail?identity=Bounds+Admins", &id)
        .await;
    assert!(
        detail.body.contains("action=\"/role-groups/add-role\"")
            && detail
                .body
                .contains("<option value=\"Distribution Groups\">Distribution Groups</option>")
            && !detail.body.contains("<option value=\"MyBaseOptions\">"),
        "{}",
        detail.body
    );
    let added = served
        .post(
            "/role-groups/add-role",
            &id,
            &format!("identity=Bounds+Admins&role=Distribution+Groups&recipientorganizationalunitscope=contoso.com%2FSales&csrf={csrf}"),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        added.location(),
        "/role-groups/detail?identity=Bounds+Admins"
    );
    let shown = served.get(added.location(), &id).await;
    assert!(
        shown
            .body
            .contains("New-ManagementRoleAssignment -SecurityGroup &#39;Bounds Admins&#39; -Role &#39;Distribution Groups&#39; -RecipientOrganizationalUnitScope")
            && shown
                .body
                .contains("`Distribution Groups` assigned to `Bounds Admins`."),
        "{}",
        shown.body
    );
    let link = "/role-groups/remove-assignment?identity=Bounds+Admins&amp;assignment=";
    let (_, rest) = shown
        .body
        .split_once(link)
        .unwrap_or_else(|| panic!("no Remove… link of an assignment in {}", shown.body));
    let assignments: Vec<&str> = shown
        .body
        .split(link)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    let distribution = assignments
        .iter()
        .find(|a| a.starts_with("Distribution"))
        .unwrap_or_else(|| panic!("the new assignment is not listed: {assignments:?} in {rest}"));
    let refused = served
        .post(
            "/role-groups/add-role",
            &id,
            &format!("identity=Bounds+Admins&role=No+Such+Role&recipientorganizationalunitscope=contoso.com%2FSeattle&csrf={csrf}"),
        )
        .await;
    assert!(
        refused.status.is_client_error()
            && refused.body.contains("New-ManagementRoleAssignment failed")
            && refused.body.contains(
                "name=\"recipientorganizationalunitscope\" value=\"contoso.com/Seattle\""
            ),
        "{}: {}",
        refused.status,
        refused.body
    );
    let asked = served
        .get(
            &format!(
                "/role-groups/remove-assignment?identity=Bounds+Admins&assignment={distribution}"
            ),
            &id,
        )
        .await;
    assert!(
        asked.status == StatusCode::OK
            && asked
                .body
                .contains("Remove-ManagementRoleAssignment -Identity")
            && asked
                .body
                .contains("Removing the management role assignment &quot;Distribution Groups"),
        "{}",
        asked.body
    );
    let still = served
        .get("/role-groups/detail?identity=Bounds+Admins", &id)
        .await;
    assert!(still.body.contains(distribution), "{}", still.body);
    let removed = served
        .post(
            "/role-groups/remove-assignment",
            &id,
            &format!("identity=Bounds+Admins&assignment={distribution}&csrf={csrf}"),
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    let after = served.get(removed.location(), &id).await;
    assert!(
        after.body.contains("removed.")
            && !after.body.contains(&format!("assignment={distribution}\"")),
        "{}",
        after.body
    );

    // A delegating assignment: the same form with the box ticked.
    let delegated = served
        .post(
            "/role-groups/add-role",
            &id,
            &format!("identity=Bounds+Admins&role=Distribution+Groups&delegating=true&csrf={csrf}"),
        )
        .await;
    assert_eq!(
        delegated.status,
        StatusCode::SEE_OTHER,
        "{}",
        delegated.body
    );
    let shown = served.get(delegated.location(), &id).await;
    assert!(
        shown.body.contains(
            "New-ManagementRoleAssignment -SecurityGroup &#39;Bounds Admins&#39; -Role &#39;Distribution Groups&#39; -Delegating"
        ),
        "{}",
        shown.body
    );

    // Removing asks first: the confirmation page (a GET) changes nothing;
    // the POST it leads to removes, then answers 303 to the list.
    let asked = served
        .get("/role-groups/remove?identity=Bounds+Admins", &id)
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked
            .body
            .contains("Are you sure you want to perform this action?")
            && asked.body.contains(
                "Removing role group &quot;Bounds Admins&quot; and its role assignments."
            ),
        "{}",
        asked.body
    );
    let listed = served.get("/role-groups", &id).await;
    assert!(
        listed.body.contains(">Bounds Admins</a>"),
        "{}",
        listed.body
    );
    let removed = served
        .post(
            "/role-groups/remove",
            &id,
            &format!("identity=Bounds+Admins&csrf={csrf}"),
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert_eq!(removed.location(), "/role-groups");
    let listed = served.get("/role-groups", &id).await;
    assert!(
        listed.body.contains("Role group `Bounds Admins` removed.")
            && !listed.body.contains(">Bounds Admins</a>"),
        "{}",
        listed.body
    );

    // Signed out: the old cookie leads to the sign-in page, which says the
    // session ended; the place is free again.
    let out = served.post("/sign-out", &id, &format!("csrf={csrf}")).await;
    assert_eq!(out.location(), "/sign-in");
    let closed = served.get("/who-can", &id).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert_eq!(closed.location(), "/sign-in?ended=closed");
    let told = served.send("GET", closed.location(), &[], "").await;
    assert!(
        told.body.contains(
            "Your session has ended (signed out, or the console restarted). Sign in again."
        ),
        "{}",
        told.body
    );
    assert_eq!(served.sign_in().await.status, StatusCode::SEE_OTHER);

    // A session idle for its limit (here none at all) has ended.
    let idle = start(
        &lab,
        Limits {
            idle: Duration::ZERO,
            ..Limits::default()
        },
    )
    .await;
    let signed_in = idle.sign_in().await;
    let id = signed_in.session().expect("a session cookie");
    let expired = idle.get("/role-groups", &id).await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    assert_eq!(expired.location(), "/sign-in?ended=idle");
    assert!(expired.session().is_none(), "the cookie is cleared");
    let told = idle.send("GET", expired.location(), &[], "").await;
    assert!(
        told.body
            .contains("Your session ended after 0 seconds without a request. Sign in again."),
        "{}",
        told.body
    );
}
