//! The request path (issue 15) through real servers: the same caller is the
//! same subject on every path; a directory server that never answers holds
//! up no other change; a refused sign-in is audited; and SIGKILL at many
//! points leaves exactly one audit record for every change that is there and
//! none for one that is not (R-AUDIT-3).

use std::collections::{BTreeMap, BTreeSet};

use super::common::{audit, federation, ok};
use super::mtls::refused;
use crossforest_shared::proto::management::v1::CheckRequest;
use crossforest_tests::Federation;

#[tokio::test]
async fn a_local_caller_holding_a_role_group_through_a_security_group_is_one_subject_everywhere() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    ok(&mut admin, "New-Mailbox -Name dana").await;
    ok(&mut admin, "New-Mailbox -Name erin").await;
    ok(
        &mut admin,
        "New-DistributionGroup -Name \"Helpdesk Staff\" -Type Security -Members dana",
    )
    .await;
    ok(
        &mut admin,
        "New-RoleGroup -Name Helpdesk -Roles \"Mail Recipients\" -Members \"Helpdesk Staff\"",
    )
    .await;
    let mut dana = f.local_session("dana").await.unwrap();

    // WhoAmI: the group, and the role group through it.
    let who = dana.who_am_i().await.unwrap();
    assert_eq!(who.user_name, "contoso\\dana");
    assert!(
        who.role_groups.iter().any(|g| g.starts_with("Helpdesk")),
        "{who:?}"
    );

    // Check and WhatCan: allowed, through the same group.
    let check = dana
        .check(CheckRequest {
            cmdlet: "Set-Mailbox".into(),
            parameters: vec!["Identity".into(), "Office".into()],
            target: "erin".into(),
            write: None,
            at_least_revision: 0,
        })
        .await
        .unwrap()
        .decision
        .unwrap();
    assert!(check.allowed, "{check:?}");
    let can = dana.what_can().await.unwrap();
    assert!(can.permissions.iter().any(|p| p.cmdlet == "Set-Mailbox"));

    // Invoke: the change itself.
    ok(&mut dana, "Set-Mailbox erin -Office \"Floor 3\"").await;

    // WhoCan names the group, by the SID WhoAmI gave.
    let who_can = admin
        .who_can(CheckRequest {
            cmdlet: "Set-Mailbox".into(),
            parameters: vec!["Identity".into(), "Office".into()],
            target: "erin".into(),
            write: None,
            at_least_revision: 0,
        })
        .await
        .unwrap();
    let staff = who_can
        .principals
        .iter()
        .find(|p| p.name == "contoso\\Helpdesk Staff")
        .unwrap_or_else(|| panic!("{who_can:?}"));
    assert!(who.group_sids.contains(&staff.sid), "{who:?} {staff:?}");
}

#[tokio::test]
async fn a_directory_server_that_never_answers_holds_up_no_other_change() {
    let mut f = federation().await;
    // fabrikam's directory server goes silent: its address accepts
    // connections and never says a word.
    let dc = f.endpoint("fabrikam.com").unwrap().address;
    f.stop("fabrikam.com").await.unwrap();
    let silent = tokio::net::TcpListener::bind(&dc).await.unwrap();
    let address = dc;
    let (accepted, mut connected) = tokio::sync::mpsc::channel(4);
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
            let _ = accepted.send(()).await;
        }
    });

    let mut admin = f.administrator().await.unwrap();
    let line = format!(
        "New-RoleGroup \"fabrikam Slow\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController {address} -LinkedCredential fabrikam\\svc-contoso"
    );
    let linking = tokio::spawn(async move { admin.run(&line).await });
    connected
        .recv()
        .await
        .expect("the resource forest connected");

    // While the creation waits on the silent server, other changes go through.
    let mut other = f.administrator().await.unwrap();
    ok(&mut other, "New-Mailbox -Name \"While Waiting\"").await;
    assert!(
        !linking.is_finished(),
        "the linked creation ended before the other change"
    );

    let error = linking.await.unwrap().unwrap_err().to_string();
    assert!(
        error.contains(&address) && error.contains("did not answer within"),
        "{error}"
    );
    let groups = ok(&mut other, "Get-RoleGroup").await;
    assert!(
        !groups.column("Name").contains(&"fabrikam Slow"),
        "nothing half-created"
    );
    holding.abort();
}

#[tokio::test]
async fn linked_domain_controller_reaches_no_other_host_or_port() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    // A port that is open here, and one that is not: the answer is the same
    // and names the parameter; nothing is contacted.
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = open.local_addr().unwrap().to_string();
    let mut answers = Vec::new();
    for dc in [open.as_str(), "127.0.0.1:1", "dc01.tailspin.com"] {
        let error = admin
            .run(&format!(
                "New-RoleGroup \"fabrikam Probe\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController {dc} -LinkedCredential fabrikam\\svc-contoso"
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, crossforest_tests::Error::InvalidArgument { parameter, .. } if parameter == "LinkedDomainController"),
            "{dc}: {error:?}"
        );
        answers.push(error.to_string().replace(dc, "<dc>"));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // A domain controller of fabrikam.com means its configured endpoint.
    ok(
        &mut admin,
        "New-RoleGroup \"fabrikam Probe\" -LinkedForeignGroup \"fabrikam\\Exchange Admins\" -LinkedDomainController dc01.fabrikam.com -LinkedCredential fabrikam\\svc-contoso",
    )
    .await;
}

#[tokio::test]
async fn a_refused_sign_in_is_audited_with_the_certificate_it_came_with() {
    let f = federation().await;
    let fabrikam: crossforest_shared::ForestName = "fabrikam.com".parse().unwrap();
    let alice = f.lab().credential(&fabrikam, "alice").unwrap();
    let error = refused(&f, &alice, None).await;
    assert!(!error.is_empty());
    // Written in the background: wait for it (bounded).
    let mut found = None;
    for _ in 0..200 {
        found = audit(&f)
            .into_iter()
            .find(|r| r.decision == "Refused" && r.caller.starts_with("fabrikam\\S-1-5-21-"));
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let record = found.expect("a record of the refused sign-in");
    assert_eq!(record.cmdlet_name, "Sign-In");
    assert!(!record.succeeded);
    assert!(!record.error.is_empty());
    assert_eq!(record.revision, None);
}

#[tokio::test]
async fn sigkill_at_many_points_leaves_one_record_for_every_change_there_and_none_for_any_other() {
    const ROUNDS: usize = 4;
    const WRITERS: usize = 3;
    let mut f = Federation::builder().processes().start().await.unwrap();
    let mut acknowledged = BTreeSet::new();
    for round in 0..ROUNDS {
        let (sent, mut done) = tokio::sync::mpsc::unbounded_channel();
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let mut session = f.administrator().await.unwrap();
            let sent = sent.clone();
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("k{round}-{w}-{i}");
                    match session.run(&format!("New-Mailbox -Name {name}")).await {
                        Ok(_) => {
                            let _ = sent.send(name);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        drop(sent);
        // A different number of acknowledged changes each round before the kill.
        for _ in 0..(3 + 4 * round) {
            acknowledged.insert(done.recv().await.expect("a writer acknowledged"));
        }
        f.kill("contoso.com").await.unwrap();
        for writer in writers {
            writer.await.unwrap();
        }
        while let Ok(name) = done.try_recv() {
            acknowledged.insert(name);
        }
        f.restart("contoso.com").await.unwrap();
    }

    let mut admin = f.administrator().await.unwrap();
    let listed = ok(&mut admin, "Get-Mailbox -ResultSize Unlimited").await;
    let there: BTreeSet<String> = listed
        .column("Name")
        .into_iter()
        .filter(|n| n.starts_with('k'))
        .map(str::to_owned)
        .collect();
    let mut records: BTreeMap<String, usize> = BTreeMap::new();
    for r in audit(&f) {
        if r.cmdlet_name == "New-Mailbox" && r.succeeded {
            *records
                .entry(r.cmdlet_parameters["Name"].clone())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = records.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "audited more than once: {twice:?}");
    let audited: BTreeSet<String> = records.into_keys().collect();
    assert_eq!(
        there.difference(&audited).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "changes without their record"
    );
    assert_eq!(
        audited.difference(&there).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "records of changes that are not there"
    );
    let lost: Vec<_> = acknowledged.difference(&there).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    eprintln!(
        "{} changes across {ROUNDS} kills, {} acknowledged before a kill",
        there.len(),
        acknowledged.len()
    );
}
