//! SID filtering (R-TRUST-3): a trusted forest may vouch only for SIDs of its own
//! domains. Everything else a token carries is dropped before authorisation, and
//! each drop is reported so that it can be logged.

use crossforest_shared::{DomainSid, ForestName, Sid};

/// A SID the filter dropped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedSid {
    /// The SID as the token carried it.
    pub sid: String,
    /// Why it was dropped.
    pub reason: &'static str,
}

/// The SIDs kept and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filtered {
    /// Group SIDs under the forest's domain SIDs.
    pub kept: Vec<Sid>,
    /// Everything else.
    pub dropped: Vec<DroppedSid>,
}

/// The user SID itself is not under the forest's domains: the whole token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("forest `{forest}` vouched for user `{sid}`, which is not in any of its domains; SID filtering refuses the token (R-TRUST-3)")]
pub struct ForeignUserSid {
    /// The issuing forest.
    pub forest: ForestName,
    /// The user SID.
    pub sid: Sid,
}

/// Filters the SIDs of a token issued by `forest`, whose domains are `domains`.
pub fn filter(
    forest: &ForestName,
    domains: &[DomainSid],
    user: &Sid,
    groups: &[String],
) -> Result<Filtered, ForeignUserSid> {
    let ours = |sid: &Sid| domains.iter().any(|d| d.contains(sid));
    if !ours(user) {
        return Err(ForeignUserSid {
            forest: forest.clone(),
            sid: *user,
        });
    }
    let mut out = Filtered::default();
    for text in groups {
        match text.parse::<Sid>() {
            Ok(sid) if ours(&sid) => {
                if !out.kept.contains(&sid) {
                    out.kept.push(sid);
                }
            }
            Ok(_) => out.dropped.push(DroppedSid {
                sid: text.clone(),
                reason: "not in a domain of the issuing forest",
            }),
            Err(_) => out.dropped.push(DroppedSid {
                sid: text.clone(),
                reason: "not a domain account SID (well-known and malformed SIDs grant nothing)",
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fabrikam() -> ForestName {
        "fabrikam.com".parse().unwrap()
    }

    #[test]
    fn keeps_own_sids_and_drops_the_rest() -> Result<(), ForeignUserSid> {
        let fab = DomainSid::new(1, 1, 1);
        let contoso = DomainSid::new(2, 2, 2);
        let groups = vec![
            fab.with_rid(1102).to_string(),
            contoso.with_rid(1000).to_string(),
            "S-1-1-0".to_owned(),
            fab.with_rid(1102).to_string(),
        ];
        let out = filter(&fabrikam(), &[fab], &fab.with_rid(1101), &groups)?;
        assert_eq!(out.kept, vec![fab.with_rid(1102)]);
        assert_eq!(out.dropped.len(), 2);
        Ok(())
    }

    #[test]
    fn a_user_sid_of_another_domain_refuses_the_token() {
        let fab = DomainSid::new(1, 1, 1);
        let contoso = DomainSid::new(2, 2, 2);
        assert!(filter(&fabrikam(), &[fab], &contoso.with_rid(500), &[]).is_err());
    }

    proptest! {
        #[test]
        fn nothing_outside_the_forest_survives(rids in proptest::collection::vec((0u32..3, 1000u32..2000), 0..20)) {
            let domains = [DomainSid::new(1, 1, 1), DomainSid::new(2, 2, 2), DomainSid::new(3, 3, 3)];
            let groups: Vec<String> = rids.iter().map(|(d, r)| domains[*d as usize].with_rid(*r).to_string()).collect();
            let out = filter(&fabrikam(), &domains[..1], &domains[0].with_rid(1), &groups);
            prop_assert!(out.is_ok());
            if let Ok(out) = out {
                prop_assert!(out.kept.iter().all(|s| domains[0].contains(s)));
                prop_assert_eq!(out.kept.len() + out.dropped.len() <= groups.len(), true);
            }
        }
    }
}
