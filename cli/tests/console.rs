//! The permissions console in a real headless Chromium (Debian's
//! `chromium` and `chromium-driver`, driven over WebDriver) on the demo lab:
//! sign-in, a denied action with its reason, who can change dana's Office
//! with the chain drawn, a what-if with gains and losses, the admin audit
//! log and the trusts. Screenshots go to `<target>/console-screenshots/`.
//!
//! Without the browser the test says it skips, unless
//! `CROSSFOREST_REQUIRE_BROWSER=1` (CI) makes that a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use browser::{on_path, Browser};
use common::{up, EXE};

/// A running `crossforest console`, killed when dropped.
struct Console {
    child: Child,
    url: String,
    spki: String,
    /// The console's key, from the sign-in address it printed.
    key: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `crossforest console --lab <lab>` on a free port; returns it with
/// the URL and SPKI hash it printed.
fn console(lab: &Path) -> Console {
    let mut child = Command::new(EXE)
        .args(["console", "--listen", "127.0.0.1:0", "--lab"])
        .arg(lab)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    // The sign-in address, with the console's key, a few lines on.
    let key = lines
        .by_ref()
        .take(4)
        .map(Result::unwrap)
        .find_map(|line| {
            line.split_whitespace().find_map(|w| {
                w.split_once("/sign-in?key=")
                    .map(|(_, key)| key.trim_end_matches('\'').to_owned())
            })
        })
        .unwrap_or_else(|| panic!("no sign-in address after `{first}`"));
    // Keep draining what it writes, so that it never blocks on the pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no URL in `{first}`"))
        .to_owned();
    let spki = first
        .split("SPKI sha256 ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no SPKI hash in `{first}`"))
        .to_owned();
    Console {
        child,
        url,
        spki,
        key,
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sign_in(browser: &Browser, console: &Console, identity: &str) {
    browser.open(&format!("{}sign-in?key={}", console.url, console.key));
    browser.click(&format!(
        "#identity option[value='{}']",
        identity.replace('\\', "\\\\")
    ));
    browser.follow("form[action='/sign-in'] button");
    assert_eq!(
        browser.text("#signed-in"),
        format!("Signed in as {identity}"),
        "sign-in as {identity} failed: {}",
        browser.text("main")
    );
}

#[test]
fn the_console_answers_who_can_change_danas_office_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
    else {
        let required = std::env::var("CROSSFOREST_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CROSSFOREST_REQUIRE_BROWSER=1 but chromium or chromedriver is not on PATH (apt-get install chromium chromium-driver)"
        );
        eprintln!("SKIPPED: the console's browser test needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab");
    let demo = Command::new(EXE)
        .args(["demo", "--dir"])
        .arg(&lab)
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let _running = up(&lab, &[], &[]);
    let console = console(&lab);
    let browser = Browser::start(&chromedriver, &chromium, &console.spki);
    let shots = screenshots();
    let url = &console.url;

    // Signed out, every page leads to the sign-in page, which asks for the
    // console's key before it offers anything; a wrong key is refused.
    browser.open(&format!("{url}who-can"));
    assert!(browser.url().ends_with("/sign-in"), "{}", browser.url());
    assert_eq!(
        browser.count("#identity"),
        0,
        "identities offered without the key"
    );
    browser.type_into("#key", "not-the-key");
    browser.follow("form[action='/sign-in'] button");
    assert_eq!(
        browser.count("#identity"),
        0,
        "identities offered for a wrong key"
    );
    browser.open(&format!("{url}sign-in?key={}", console.key));
    let offered = browser.text("#identity");
    for identity in [
        "contoso\\Administrator",
        "fabrikam\\alice",
        "fabrikam\\bob",
        "tailspin\\carol",
    ] {
        assert!(offered.contains(identity), "{offered}");
    }
    browser.screenshot(None, &shots.join("sign-in.png"));

    // carol (tailspin, View-Only Recipients) tries to create a role group:
    // denied, and the page says why and shows the cmdlet that was refused.
    sign_in(&browser, &console, "tailspin\\carol");
    browser.type_into("#name", "Console Admins");
    browser.type_into("#roles", "Mail Recipients");
    browser.follow("form[action='/role-groups/new'] button");
    let alert = browser.text("[role=alert]");
    assert!(alert.starts_with("DENIED: New-RoleGroup"), "{alert}");
    assert!(
        alert.contains("`New-RoleGroup` isn't available to you"),
        "{alert}"
    );
    assert!(
        browser
            .text("pre.cmdlet")
            .contains("New-RoleGroup -Name 'Console Admins' -Roles 'Mail Recipients'"),
        "{}",
        browser.text("main")
    );
    browser.screenshot(None, &shots.join("denied.png"));
    // A form without the session's token is refused, and says why.
    browser.script(
        "document.querySelector(\"form[action='/role-groups/new'] input[name=csrf]\").remove();",
        serde_json::json!([]),
    );
    browser.follow("form[action='/role-groups/new'] button");
    assert!(
        browser
            .text("[role=alert]")
            .contains("the form's token is missing"),
        "{}",
        browser.text("main")
    );
    // carol asks to remove the Administrator from Organization Management:
    // the confirmation page shows the cmdlet line and what it would do,
    // and Yes is refused with the reason.
    browser.open(&format!(
        "{url}role-groups/remove-member?identity=Organization+Management&member=Administrator"
    ));
    assert_eq!(
        browser.text("pre.cmdlet"),
        "Remove-RoleGroupMember -Identity 'Organization Management' -Member Administrator"
    );
    assert_eq!(
        browser.text("#action"),
        "Removing member \"Administrator\" from role group \"Organization Management\"."
    );
    assert!(browser
        .text("main")
        .contains("Are you sure you want to perform this action?"));
    browser.follow("form[action='/role-groups/remove-member'] button");
    let alert = browser.text("[role=alert]");
    assert!(
        alert.starts_with("DENIED: Remove-RoleGroupMember")
            && alert.contains("isn't available to you"),
        "{alert}"
    );
    browser.screenshot(None, &shots.join("remove-denied.png"));
    browser.open(&format!("{url}role-groups"));
    browser.follow(".signout button");
    assert!(browser.url().ends_with("/sign-in"));

    // Who can change dana's Office, and through what? fabrikam's Exchange
    // Admins, through the linked role group, drawn as a chain.
    sign_in(&browser, &console, "contoso\\Administrator");
    // The Administrator links a role group to tailspin's Exchange Admins:
    // the domain controller and linked credential are the trust's.
    browser.type_into("#name", "tailspin Console Admins");
    browser.type_into("#linkedforeigngroup", "tailspin\\Exchange Admins");
    browser.type_into("#roles", "View-Only Configuration");
    browser.follow("form[action='/role-groups/new'] button");
    // POST/redirect/GET: the change answers with the new group's page, the
    // outcome shown once; reloading that page runs nothing again.
    assert!(
        browser
            .url()
            .ends_with("/role-groups/detail?identity=tailspin+Console+Admins"),
        "{}",
        browser.url()
    );
    assert!(
        browser
            .text("[role=status]")
            .contains("Role group `tailspin Console Admins` created."),
        "{}",
        browser.text("main")
    );
    let line = browser.text("pre.cmdlet");
    assert!(
        line.starts_with("New-RoleGroup -Name 'tailspin Console Admins' -LinkedForeignGroup 'tailspin\\Exchange Admins' -LinkedDomainController 127.0.0.1:")
            && line.ends_with(" -LinkedCredential tailspin\\svc-contoso -Roles 'View-Only Configuration'"),
        "{line}"
    );
    let properties = browser.text("table");
    assert!(
        properties.contains("LinkedForeignGroup\ttailspin\\Exchange Admins"),
        "{properties}"
    );
    browser.reload();
    assert_eq!(
        browser.count("[role=status]"),
        0,
        "{}",
        browser.text("main")
    );
    assert!(browser.url().ends_with("identity=tailspin+Console+Admins"));
    let created = browser.script(
        "return document.body.innerText.split('New-RoleGroup -Name').length - 1;",
        serde_json::json!([]),
    );
    assert_eq!(created, 0, "{}", browser.text("main"));
    // A linked role group has no members of its own: the cmdlet's own
    // validation refuses, the page names the reason and keeps the form.
    browser.open(&format!("{url}role-groups"));
    browser.type_into("#member", "Administrator");
    browser.click("#group option[value='fabrikam Recipient Admins']");
    browser.follow("form[action='/role-groups/add-member'] button");
    let alert = browser.text("[role=alert]");
    assert!(alert.starts_with("Add-RoleGroupMember failed"), "{alert}");
    let kept = browser.script(
        "return [document.getElementById('member').value, document.getElementById('group').value];",
        serde_json::json!([]),
    );
    assert_eq!(
        kept,
        serde_json::json!(["Administrator", "fabrikam Recipient Admins"])
    );
    browser.screenshot(None, &shots.join("role-groups.png"));

    // Remove a member, then the group, each after its confirmation page.
    browser.type_into("#name", "Console Helpdesk");
    browser.type_into("#linkedforeigngroup", "");
    browser.type_into("#roles", "View-Only Recipients");
    browser.type_into("#members", "Administrator");
    browser.follow("form[action='/role-groups/new'] button");
    assert!(
        browser.url().ends_with("identity=Console+Helpdesk"),
        "{}",
        browser.text("main")
    );
    assert_eq!(browser.count("a[href^='/role-groups/remove-member?']"), 1);
    browser.follow("a[href^='/role-groups/remove-member?']");
    let member = browser.text("#action");
    assert!(
        member.starts_with("Removing member \"")
            && member.ends_with("\" from role group \"Console Helpdesk\"."),
        "{member}"
    );
    let line = browser.text("pre.cmdlet");
    assert!(
        line.starts_with("Remove-RoleGroupMember -Identity 'Console Helpdesk' -Member "),
        "{line}"
    );
    browser.screenshot(None, &shots.join("confirm-remove-member.png"));
    browser.follow("form[action='/role-groups/remove-member'] button");
    assert!(
        browser.url().ends_with("identity=Console+Helpdesk"),
        "{}",
        browser.url()
    );
    assert!(
        browser
            .text("[role=status]")
            .contains("removed from `Console Helpdesk`"),
        "{}",
        browser.text("main")
    );
    assert_eq!(browser.count("a[href^='/role-groups/remove-member?']"), 0);
    assert!(
        browser.text("main").contains("Members: none."),
        "{}",
        browser.text("main")
    );
    browser.open(&format!("{url}audit?cmdlets=Remove-RoleGroupMember"));
    let audited = browser.text("table");
    assert!(
        audited.contains("contoso\\Administrator") && audited.contains("Console Helpdesk"),
        "{audited}"
    );
    browser.open(&format!(
        "{url}role-groups/detail?identity=Console+Helpdesk"
    ));
    browser.follow("a[href^='/role-groups/remove?']");
    assert_eq!(
        browser.text("pre.cmdlet"),
        "Remove-RoleGroup -Identity 'Console Helpdesk'"
    );
    browser.follow("form[action='/role-groups/remove'] button");
    assert!(browser.url().ends_with("/role-groups"), "{}", browser.url());
    assert!(
        browser
            .text("[role=status]")
            .contains("Role group `Console Helpdesk` removed."),
        "{}",
        browser.text("main")
    );
    assert!(!browser.text("table").contains("Console Helpdesk"));

    // A role group's page: its linked group, and its assignments with scopes.
    browser.follow("a[href='/role-groups/detail?identity=fabrikam+Recipient+Admins']");
    let properties = browser.text("table");
    assert!(
        properties.contains("LinkedForeignGroup\tfabrikam\\Exchange Admins"),
        "{properties}"
    );
    let assignments = browser.script(
        "return [...document.querySelectorAll('table')].pop().innerText;",
        serde_json::json!([]),
    );
    let assignments = assignments.as_str().unwrap();
    assert!(
        assignments.contains("RecipientWriteScope")
            && assignments.contains(
                "Mail Recipients_fabrikam Recipient Admins\tMail Recipients\tRegular\tOrganization"
            ),
        "{assignments}"
    );
    browser.open(&format!("{url}role-groups"));

    browser.follow("a[href='/who-can']");
    browser.type_into("#cmdlet", "Set-Mailbox");
    browser.type_into("#parameters", "Office");
    browser.type_into("#target", "dana");
    browser.follow("form[action='/who-can'] button");
    let principals = browser.text("#who-count");
    assert!(principals.contains("principal(s) may"), "{principals}");
    let chain = browser.script(
        "const s = [...document.querySelectorAll('section.principal')]
            .find(s => s.querySelector('h3').innerText.startsWith('fabrikam\\\\Exchange Admins'));
         if (!s) return null;
         const svg = s.querySelector('svg.chain');
         return { kinds: [...svg.querySelectorAll('g.node')].map(g => g.dataset.kind),
                  labels: [...svg.querySelectorAll('g.node > title')].map(t => t.textContent),
                  desc: svg.querySelector('desc').textContent };",
        serde_json::json!([]),
    );
    assert!(
        !chain.is_null(),
        "fabrikam\\Exchange Admins is not among those who can: {}",
        browser.text("main")
    );
    let kinds: Vec<&str> = chain["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "SID",
            "Foreign group",
            "Role group",
            "Assignment",
            "Role",
            "Role entry",
            "Scope"
        ],
        "{chain}"
    );
    let labels = chain["labels"].to_string();
    for label in [
        "Foreign group: fabrikam\\\\Exchange Admins",
        "Role group: fabrikam Recipient Admins",
        "Role: Mail Recipients",
    ] {
        assert!(labels.contains(label), "{label} not in {labels}");
    }
    assert!(
        chain["desc"].as_str().unwrap().contains("linked to"),
        "{chain}"
    );
    browser.screenshot(None, &shots.join("who-can.png"));
    // The README's picture (docs/console-who-can.png): fabrikam's chain.
    browser.script(
        "[...document.querySelectorAll('section.principal')]
            .find(s => s.querySelector('h3').innerText.startsWith('fabrikam\\\\Exchange Admins'))
            .dataset.shot = 'chain';",
        serde_json::json!([]),
    );
    browser.screenshot(
        Some("section[data-shot=chain]"),
        &shots.join("who-can-chain.png"),
    );

    // What-if, a pending cmdlet: removing fabrikam's Mail Recipient
    // Creation assignment would take New-Mailbox from its Exchange Admins.
    browser.follow("a[href='/what-if']");
    browser.type_into(
        "#line",
        "Remove-ManagementRoleAssignment 'Mail Recipient Creation_fabrikam Recipient Admins'",
    );
    browser.follow("form[action='/what-if/cmdlet'] button");
    assert!(
        browser.text("pre.cmdlet").ends_with(" -WhatIf"),
        "{}",
        browser.text("main")
    );
    let pending = browser.text("table");
    let row = pending
        .lines()
        .find(|l| l.starts_with("fabrikam\\Exchange Admins"))
        .unwrap_or_else(|| panic!("{}", browser.text("main")));
    assert!(row.contains("New-Mailbox"), "{row}");
    assert!(
        browser
            .text("main")
            .contains("WARNING: Nothing was changed"),
        "{}",
        browser.text("main")
    );

    // What-if: the organization's model without fabrikam's Mail Recipient
    // Creation assignment; fabrikam's Exchange Admins would lose New-Mailbox.
    browser.follow("a[href='/what-if']");
    let removed = browser.script(
        "const t = document.getElementById('model');
         const before = t.value;
         t.value = before.replace(/\\[\\[ManagementRoleAssignment\\]\\]\\nName = \"Mail Recipient Creation_fabrikam Recipient Admins\"[^\\[]*/, '');
         return before !== t.value;",
        serde_json::json!([]),
    );
    assert_eq!(
        removed,
        true,
        "the exported model has no such assignment: {}",
        browser.text("#model")
    );
    browser.follow("form[action='/what-if'] button");
    let plan = browser.text("main");
    assert!(
        plan.contains(
            "- ManagementRoleAssignment \"Mail Recipient Creation_fabrikam Recipient Admins\""
        ),
        "{plan}"
    );
    let losses = browser.script(
        "return [...document.querySelectorAll('table tbody tr')]
            .map(r => [...r.children].map(c => c.innerText));",
        serde_json::json!([]),
    );
    let fabrikam = losses
        .as_array()
        .unwrap()
        .iter()
        .find(|row| {
            row[0].as_str().is_some_and(|p| {
                p.contains("Exchange Admins") || p.contains("fabrikam Recipient Admins")
            })
        })
        .unwrap_or_else(|| panic!("no gains or losses for fabrikam: {plan}"));
    assert!(
        fabrikam[2].as_str().unwrap().contains("New-Mailbox"),
        "{fabrikam}"
    );
    browser.screenshot(None, &shots.join("what-if.png"));

    // The admin audit log holds carol's denied New-RoleGroup.
    browser.open(&format!("{url}audit?cmdlets=New-RoleGroup&issuccess=false"));
    let entries = browser.text("table");
    assert!(
        entries.contains("tailspin\\carol"),
        "{}",
        browser.text("main")
    );
    assert!(
        browser
            .text("pre.cmdlet")
            .starts_with("Search-AdminAuditLog -Cmdlets New-RoleGroup -IsSuccess:$false"),
        "{}",
        browser.text("pre.cmdlet")
    );
    browser.screenshot(None, &shots.join("audit.png"));

    // Trusts: both account forests, their links up and answering within
    // their staleness bounds.
    browser.follow("a[href='/trusts']");
    let trusts = browser.text("table");
    for forest in ["fabrikam.com", "tailspin.com"] {
        let row = trusts
            .lines()
            .find(|l| l.starts_with(forest))
            .unwrap_or_else(|| panic!("{trusts}"));
        assert!(row.contains("\tup, last answered "), "{row}");
        assert!(!row.contains("STALE"), "{row}");
    }
    browser.screenshot(None, &shots.join("trusts.png"));
    eprintln!("console screenshots: {}", shots.display());
}
