//! Setup's preparation of the forest: `/PrepareAD
//! /ActiveDirectorySplitPermissions` reports seed 001's table of changes
//! (Exchange Windows Permissions, the Exchange Trusted Subsystem, the
//! non-delegating assignments) and keeps them in the organization;
//! `/PrepareAllDomains` and `/PrepareDomain` prepare the domains, authorised
//! and audited as `/PrepareAD` is (R-SPLIT-3, R-SPLIT-4).

use super::common::{audit, federation};
use crossforest_shared::proto::management::v1::PrepareDomainRequest;

fn domain(name: &str) -> PrepareDomainRequest {
    PrepareDomainRequest {
        all_domains: false,
        domain: name.into(),
        what_if: false,
    }
}

/// Asserts that `report` holds every one of `lines`.
fn contains_every(report: &[String], lines: &[&str]) {
    let text = report.join("\n");
    for line in lines {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

#[tokio::test]
async fn r_split_3_prepare_ad_reports_the_directory_changes_and_prepare_domain_is_idempotent() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let state = admin.prepare_ad(None, false).await.unwrap().changes;
    contains_every(
        &state,
        &[
            "contoso.com/Microsoft Exchange Security Groups",
            "the Exchange Trusted Subsystem is a member of it",
        ],
    );

    // Shared → AD split: the seed's table, line by line.
    let on = admin.prepare_ad(Some(true), false).await.unwrap().changes;
    contains_every(
        &on,
        &[
            "created the organizational unit contoso.com/Microsoft Exchange Protected Groups",
            "moved Exchange Windows Permissions to contoso.com/Microsoft Exchange Protected Groups",
            "removed the Exchange Trusted Subsystem from Exchange Windows Permissions",
            "removed regular assignment `Mail Recipient Creation-Organization Management`",
            "removed regular assignment `Security Group Creation and Membership-Organization Management`",
            "removed the access control entries of Exchange Windows Permissions from the domain object of contoso.com",
        ],
    );
    // Kept in the organization: a later run reports the new state.
    let state = admin.prepare_ad(None, false).await.unwrap().changes;
    contains_every(
        &state,
        &["the Exchange Trusted Subsystem is not a member of it"],
    );

    // The domains: the root domain was prepared by /PrepareAD; again is a no-op.
    for request in [
        PrepareDomainRequest {
            all_domains: true,
            ..domain("")
        },
        domain(""),
        domain("CONTOSO.COM"),
    ] {
        let r = admin.prepare_domain(request).await.unwrap();
        assert_eq!(
            r.changes,
            ["domain contoso.com is already prepared for Active Directory split permissions; nothing changed"]
        );
    }
    let e = admin
        .prepare_domain(domain("sales.fabrikam.com"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`sales.fabrikam.com` is not a domain of the contoso.com forest"),
        "{e}"
    );
    // Organization Management only.
    let mut bob = f.session("fabrikam\\bob").await.unwrap();
    let denied = bob
        .prepare_domain(PrepareDomainRequest {
            all_domains: true,
            ..domain("")
        })
        .await
        .unwrap_err();
    assert!(denied.is_denied(), "{denied}");

    // AD split → shared, what-if first: the reverse table, nothing changed.
    let what_if = admin.prepare_ad(Some(false), true).await.unwrap().changes;
    contains_every(
        &what_if,
        &[
        "What if: nothing was changed.",
        "moved Exchange Windows Permissions to contoso.com/Microsoft Exchange Security Groups",
        "removed the organizational unit contoso.com/Microsoft Exchange Protected Groups",
        "added the Exchange Trusted Subsystem to Exchange Windows Permissions",
        "added the access control entries of Exchange Windows Permissions to the domain object of contoso.com",
            "no assignment was recreated",
        ],
    );
    let state = admin.prepare_ad(None, false).await.unwrap().changes;
    contains_every(&state, &["is not a member of it"]);
    admin.prepare_ad(Some(false), false).await.unwrap();
    let r = admin.prepare_domain(domain("contoso.com")).await.unwrap();
    assert!(r.changes[0].contains("already prepared for shared or RBAC split"));

    let records = audit(&f);
    for (cmdlet, succeeded) in [
        ("Setup /PrepareAllDomains", true),
        ("Setup /PrepareDomain", true),
        ("Setup /PrepareDomain", false),
    ] {
        assert!(
            records
                .iter()
                .any(|r| r.cmdlet_name == cmdlet && r.succeeded == succeeded),
            "{cmdlet} {succeeded}"
        );
    }
    assert!(records
        .iter()
        .any(|r| r.cmdlet_name == "Setup /PrepareAllDomains"
            && r.decision == "Denied"
            && r.caller.contains("bob")));
}
