//! Turning a verified TLS peer and its forest token into a [`Caller`].
//!
//! Local administrators of the resource forest authenticate with their
//! certificate alone. A caller from an account forest needs both: a certificate
//! that the TLS layer verified against that forest's CA, and a token signed by the
//! same forest naming the same principal. Then SID filtering (R-TRUST-3).

use std::time::{Duration, SystemTime};

use crossforest_shared::token::{TokenError, TokenPolicy};
use crossforest_shared::{ForestName, Principal, Sid};

use super::sid_filter::{filter, DroppedSid, ForeignUserSid};
use super::Trusts;

/// Why a caller was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The certificate's forest is not trusted (the TLS layer should already
    /// have refused it).
    #[error("forest `{0}` is not trusted by this organization")]
    UntrustedForest(ForestName),
    /// A caller from an account forest sent no token.
    #[error("callers from `{0}` must present a forest token from their home forest (metadata `x-crossforest-token`)")]
    MissingToken(ForestName),
    /// The token was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Certificate and token disagree.
    #[error("the client certificate names `{certificate}` but the token names `{token}`")]
    Mismatch {
        /// `forest\SID` of the certificate.
        certificate: String,
        /// `forest\SID` of the token.
        token: String,
    },
    /// SID filtering refused the user SID.
    #[error(transparent)]
    SidFilter(#[from] ForeignUserSid),
    /// The forest's link is stale, or its feed revoked the account.
    #[error(transparent)]
    Stale(#[from] super::freshness::StaleError),
    /// The token is valid for longer than the trust honours.
    #[error("the token is valid for {lifetime_secs} s; `{forest}` tokens are honoured for at most {max_secs} s (max_token_lifetime_secs)")]
    Lifetime {
        /// The issuing forest.
        forest: ForestName,
        /// From issue to expiry.
        lifetime_secs: i128,
        /// What the trust honours.
        max_secs: u64,
    },
    /// The token's user name would disguise what it says in logs and listings.
    #[error("the token's user name is refused: {0}")]
    UserName(#[from] crossforest_shared::text::DeceptiveName),
}

/// An authenticated caller, with SIDs filtered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Home forest.
    pub forest: ForestName,
    /// The user.
    pub user: Sid,
    /// `DOMAIN\name` for display and audit.
    pub display_name: String,
    /// The user SID followed by every group SID kept.
    pub sids: Vec<Sid>,
    /// SIDs the token carried that filtering dropped.
    pub dropped: Vec<DroppedSid>,
    /// Whether the caller is a local principal of the resource forest.
    pub local: bool,
}

/// Authenticates `principal` (from the verified certificate) with an optional token.
pub fn authenticate(
    trusts: &Trusts,
    principal: &Principal,
    token: Option<&str>,
    clock_skew: Duration,
    now: SystemTime,
) -> Result<Caller, AuthError> {
    if principal.forest == *trusts.own_forest() {
        return Ok(Caller {
            forest: principal.forest.clone(),
            user: principal.sid,
            display_name: format!("{}\\{}", principal.forest.netbios(), principal.sid),
            sids: vec![principal.sid],
            dropped: Vec::new(),
            local: true,
        });
    }
    let trust = trusts
        .get(&principal.forest)
        .ok_or_else(|| AuthError::UntrustedForest(principal.forest.clone()))?;
    let token = token.ok_or_else(|| AuthError::MissingToken(principal.forest.clone()))?;
    let policy = TokenPolicy {
        audience: trusts.own_forest().clone(),
        clock_skew,
    };
    let verified = trusts
        .tokens()
        .verify(token, trusts.store(), &policy, now)?;
    let lifetime = i128::from(verified.expires_at) - i128::from(verified.issued_at);
    if lifetime > i128::from(trust.max_token_lifetime.as_secs()) {
        return Err(AuthError::Lifetime {
            forest: trust.forest.clone(),
            lifetime_secs: lifetime,
            max_secs: trust.max_token_lifetime.as_secs(),
        });
    }
    crossforest_shared::text::check_name("user_name", &verified.user_name)?;
    if verified.issuer != principal.forest || verified.user_sid != principal.sid {
        return Err(AuthError::Mismatch {
            certificate: format!("{}\\{}", principal.forest, principal.sid),
            token: format!("{}\\{}", verified.issuer, verified.user_sid),
        });
    }
    let filtered = filter(
        &trust.forest,
        &trust.domain_sids,
        &verified.user_sid,
        &verified.group_sids,
    )?;
    for dropped in &filtered.dropped {
        tracing::warn!(
            forest = %trust.forest,
            user = %verified.user_sid,
            sid = %dropped.sid,
            reason = dropped.reason,
            "SID filtered (R-TRUST-3)"
        );
    }
    let (kept, revoked) = trusts.freshness().check(
        &trust.forest,
        &verified.user_sid,
        verified.directory_sequence,
        filtered.kept,
        now,
    )?;
    for dropped in &revoked {
        tracing::info!(
            forest = %trust.forest,
            user = %verified.user_sid,
            sid = %dropped.sid,
            issued_at_change = verified.directory_sequence,
            "group revoked by the change feed"
        );
    }
    let mut sids = vec![verified.user_sid];
    sids.extend(kept);
    let mut dropped = filtered.dropped;
    dropped.extend(revoked);
    Ok(Caller {
        forest: trust.forest.clone(),
        user: verified.user_sid,
        display_name: format!("{}\\{}", trust.forest.netbios(), verified.user_name),
        sids,
        dropped,
        local: false,
    })
}
