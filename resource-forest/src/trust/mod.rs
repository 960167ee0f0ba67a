//! Trusted account forests: their CAs, domain SIDs and linked credentials; caller
//! authentication (certificate + forest token); SID filtering; and lookups in an
//! account forest with a linked credential.

pub mod authenticate;
pub mod config;
pub mod feed;
pub mod freshness;
pub mod linked;
pub mod probe;
pub mod sid_filter;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crossforest_shared::client::ForestEndpoint;
use crossforest_shared::metrics::Metrics;
use crossforest_shared::pki::{read_text, IssuedCertificate, PkiError};
use crossforest_shared::tls::{ForestTrustStore, TlsError};
use crossforest_shared::token_cache::VerifiedTokens;
use crossforest_shared::{DomainSid, ForestName};

use config::TrustConfig;

/// Why the trusts could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TrustLoadError {
    /// A certificate file.
    #[error("trust `{forest}`: {source}")]
    Pki {
        /// The trust.
        forest: ForestName,
        /// The problem.
        source: PkiError,
    },
    /// A CA certificate rustls cannot use.
    #[error("trust `{forest}`: {source}")]
    Tls {
        /// The trust.
        forest: ForestName,
        /// The problem.
        source: TlsError,
    },
    /// A trust to this forest itself, or two trusts to one forest.
    #[error("trust `{0}` is configured twice or names this forest itself")]
    Duplicate(ForestName),
    /// No domain SIDs: the forest could vouch for nothing.
    #[error("trust `{0}` lists no domain_sids; SID filtering would drop every SID")]
    NoDomains(ForestName),
    /// The linked credential user is not in the trusted forest.
    #[error(
        "trust `{forest}`: linked_credential.user `{user}` must be `DOMAIN\\name` of that forest"
    )]
    CredentialUser {
        /// The trust.
        forest: ForestName,
        /// The user as configured.
        user: String,
    },
    /// A staleness bound too short for the feed's keep-alives.
    #[error("trust `{forest}`: max_staleness_secs = {secs} is below the minimum of {min}")]
    Staleness {
        /// The trust.
        forest: ForestName,
        /// As configured.
        secs: u64,
        /// The minimum.
        min: u64,
    },
}

/// A linked credential, loaded.
#[derive(Clone)]
pub struct LinkedCredential {
    /// `DOMAIN\name`.
    pub user: String,
    /// Certificate and key.
    pub credential: IssuedCertificate,
}

impl std::fmt::Debug for LinkedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkedCredential")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One trusted forest, loaded.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The forest.
    pub forest: ForestName,
    /// Its directory endpoint and CA.
    pub endpoint: ForestEndpoint,
    /// Domain SIDs it may vouch for.
    pub domain_sids: Vec<DomainSid>,
    /// The credential it issued to us, if any.
    pub linked_credential: Option<LinkedCredential>,
    /// Where the state of the link (`crossforest_trust_link_up`) is recorded.
    pub metrics: Arc<Metrics>,
    /// How long its tokens are honoured while its change feed is silent.
    pub max_staleness: Duration,
    /// How long one call to its directory may take (`timeout_secs`).
    pub timeout: Duration,
    /// The longest token validity honoured (`max_token_lifetime_secs`).
    pub max_token_lifetime: Duration,
}

/// Every trust of this resource forest, plus its own CA for local callers.
#[derive(Debug, Clone)]
pub struct Trusts {
    own_forest: ForestName,
    store: ForestTrustStore,
    trusts: BTreeMap<ForestName, Trust>,
    freshness: Arc<freshness::Freshness>,
    /// Tokens verified against `store`'s anchors; new trusts, new cache.
    tokens: Arc<VerifiedTokens>,
}

impl Trusts {
    /// Loads the trusts of `own_forest` (whose CA is `own_ca_pem`).
    pub fn load(
        own_forest: &ForestName,
        own_ca_pem: &str,
        configs: &[TrustConfig],
        metrics: &Arc<Metrics>,
    ) -> Result<Self, TrustLoadError> {
        let mut store = ForestTrustStore::new();
        store
            .trust(own_forest.clone(), own_ca_pem)
            .map_err(|source| TrustLoadError::Tls {
                forest: own_forest.clone(),
                source,
            })?;
        let mut trusts = BTreeMap::new();
        for c in configs {
            let forest = c.forest.clone();
            if forest == *own_forest || trusts.contains_key(&forest) {
                return Err(TrustLoadError::Duplicate(forest));
            }
            if c.domain_sids.is_empty() {
                return Err(TrustLoadError::NoDomains(forest));
            }
            if c.max_staleness_secs < freshness::MIN_MAX_STALENESS_SECS {
                return Err(TrustLoadError::Staleness {
                    forest,
                    secs: c.max_staleness_secs,
                    min: freshness::MIN_MAX_STALENESS_SECS,
                });
            }
            let pki = |source| TrustLoadError::Pki {
                forest: forest.clone(),
                source,
            };
            let ca_pem = read_text(&c.ca_certificate).map_err(pki)?;
            store
                .trust(forest.clone(), &ca_pem)
                .map_err(|source| TrustLoadError::Tls {
                    forest: forest.clone(),
                    source,
                })?;
            let linked_credential = match &c.linked_credential {
                Some(l) => {
                    let in_forest = l
                        .user
                        .split_once('\\')
                        .is_some_and(|(d, n)| forest.answers_to(d) && !n.is_empty());
                    if !in_forest {
                        return Err(TrustLoadError::CredentialUser {
                            forest,
                            user: l.user.clone(),
                        });
                    }
                    Some(LinkedCredential {
                        user: l.user.clone(),
                        credential: IssuedCertificate::read_combined(&l.credential).map_err(pki)?,
                    })
                }
                None => None,
            };
            trusts.insert(
                forest.clone(),
                Trust {
                    forest: forest.clone(),
                    endpoint: ForestEndpoint {
                        forest,
                        address: c.endpoint.clone(),
                        ca_pem,
                    },
                    domain_sids: c.domain_sids.clone(),
                    linked_credential,
                    metrics: metrics.clone(),
                    max_staleness: Duration::from_secs(c.max_staleness_secs),
                    timeout: Duration::from_secs(c.timeout_secs.max(1)),
                    max_token_lifetime: Duration::from_secs(c.max_token_lifetime_secs),
                },
            );
        }
        // Only trusts with a linked credential have a change feed to follow.
        let freshness = Arc::new(freshness::Freshness::new(
            trusts
                .values()
                .filter(|t| t.linked_credential.is_some())
                .map(|t| (t.forest.clone(), t.max_staleness)),
            SystemTime::now(),
        ));
        Ok(Self {
            own_forest: own_forest.clone(),
            store,
            trusts,
            freshness,
            tokens: Arc::new(VerifiedTokens::new()),
        })
    }

    /// This resource forest.
    pub fn own_forest(&self) -> &ForestName {
        &self.own_forest
    }

    /// CAs by forest: this forest's and every trusted forest's, never merged.
    pub fn store(&self) -> &ForestTrustStore {
        &self.store
    }

    /// The trust to `forest`.
    pub fn get(&self, forest: &ForestName) -> Option<&Trust> {
        self.trusts.get(forest)
    }

    /// The trust whose forest answers to `domain` (NetBIOS or DNS name).
    pub fn by_domain(&self, domain: &str) -> Option<&Trust> {
        self.trusts.values().find(|t| t.forest.answers_to(domain))
    }

    /// What each trusted forest's change feed revoked, and link freshness.
    pub fn freshness(&self) -> &Arc<freshness::Freshness> {
        &self.freshness
    }

    /// These trusts with `previous`'s freshness state: a reload of certificates
    /// and trust bundles must not forget what the change feeds revoked, nor
    /// detach the feed followers, which record into that state.
    pub fn keeping_freshness_of(mut self, previous: &Trusts) -> Self {
        self.freshness = previous.freshness.clone();
        self
    }

    /// Forest tokens already verified against these trusts' anchors.
    pub fn tokens(&self) -> &VerifiedTokens {
        &self.tokens
    }

    /// Every trust.
    pub fn all(&self) -> impl Iterator<Item = &Trust> {
        self.trusts.values()
    }
}
