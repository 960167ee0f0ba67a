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

#[tokio::test]
async fn r_split_3_prepare_ad_reports_the_directory_changes_and_prepare_domain_is_idempotent() {
    let f = federation().await;
    let mut admin = f.administrator().await.unwrap();
    let state = admin
        .prepare_ad(None, false)
        .await
        .unwrap()
        .changes
        .join("\n");
    assert!(
        state.contains("the Exchange Trusted Subsystem is a member of it")
            && state.contains("contoso.com/Microsoft Exchange Security Groups"),
        "{state}"
    );

    // Shared → AD split: the seed's table, line by line.
    let on = admin.prepare_ad(Some(true), false).await.unwrap().changes;
    let on = on.join("\n");
    for line in [
        "created the organizational unit contoso.com/Microsoft Exchange Protected Groups",
        "moved Exchange Windows Permissions to contoso.com/Microsoft Exchange Protected Groups",
        "removed the Exchange Trusted Subsystem from Exchange Windows Permissions",
        "removed regular assignment `Mail Recipient Creation-Organization Management`",
        "removed regular assignment `Security Group Creation and Membership-Organization Management`",
        "removed the access control entries of Exchange Windows Permissions from the domain object of contoso.com",
    ] {
        assert!(on.contains(line), "{line}\n{on}");
    }
    // Kept in the organization: a later run reports the new state.
    let state = admin
        .prepare_ad(None, false)
        .await
        .unwrap()
        .changes
        .join("\n");
    assert!(
        state.contains("the Exchange Trusted Subsystem is not a member of it"),
        "{state}"
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
    let what_if = what_if.join("\n");
    for line in [
        "What if: nothing was changed.",
        "moved Exchange Windows Permissions to contoso.com/Microsoft Exchange Security Groups",
        "removed the organizational unit contoso.com/Microsoft Exchange Protected Groups",
        "added the Exchange Trusted Subsystem to Exchange Windows Permissions",
        "added the access control entries of Exchange Windows Permissions to the domain object of contoso.com",
        "no assignment was recreated",
    ] {
        assert!(what_if.contains(line), "{line}\n{what_if}");
    }
    let state = admin
        .prepare_ad(None, false)
        .await
        .unwrap()
        .changes
        .join("\n");
    assert!(state.contains("is not a member of it"), "{state}");
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
