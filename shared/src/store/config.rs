//! `[store]` in `node.toml`: which store keeps the node's state.

use serde::{Deserialize, Serialize};

/// The store of a node.
///
/// ```toml
/// [store]
/// kind = "embedded"            # the default: a file under data_dir
///
/// [store]
/// kind = "postgres"
/// url = "postgres://crossforest:…@db.contoso.com/crossforest"
/// schema = "contoso"           # optional, default "crossforest"
/// ```
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// An embedded database file under the node's data directory.
    #[default]
    Embedded,
    /// A PostgreSQL database, which several nodes may share.
    Postgres {
        /// libpq-style URL or key=value connection string.
        url: String,
        /// The schema holding the tables (created if missing).
        #[serde(default = "default_schema")]
        schema: String,
    },
}

/// The default PostgreSQL schema.
pub fn default_schema() -> String {
    "crossforest".to_owned()
}

impl StoreConfig {
    /// Whether this is the default (embedded) store.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Embedded)
    }

    /// Checks what parsing cannot: the PostgreSQL schema name.
    pub fn check(&self, problems: &mut crate::config::Problems) {
        if let Self::Postgres { schema, .. } = self {
            if !valid_schema(schema) {
                problems.push(
                    "store.schema",
                    format!(
                        "`{schema}` is not a schema name: use lower-case letters, digits and `_`"
                    ),
                );
            }
        }
    }

    /// For logs and messages: the kind and where, never a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded => "embedded".to_owned(),
            Self::Postgres { url, schema } => {
                format!("postgres {} (schema {schema})", redact_url(url))
            }
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Whether `name` can name a PostgreSQL schema without quoting surprises.
pub fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `url` with any password replaced by `***`: `postgres://user:***@host/db`,
/// or `password=***` in a key=value string.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((credentials, host)) = rest.split_once('@') {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            return format!("{scheme}://{user}{hidden}@{host}");
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let c = StoreConfig::Postgres {
            url: "postgres://rf:s3cret@db:5432/x".into(),
            schema: default_schema(),
        };
        assert_eq!(
            format!("{c:?}"),
            "postgres postgres://rf:***@db:5432/x (schema crossforest)"
        );
        assert_eq!(
            redact_url("host=db user=rf password=s3cret"),
            "host=db user=rf password=***"
        );
    }

    #[test]
    fn parses_from_toml() {
        #[derive(Deserialize)]
        struct N {
            store: StoreConfig,
        }
        let n: N =
            toml::from_str("[store]\nkind = \"postgres\"\nurl = \"postgres://h/d\"").unwrap();
        assert_eq!(
            n.store,
            StoreConfig::Postgres {
                url: "postgres://h/d".into(),
                schema: "crossforest".into()
            }
        );
        let e = toml::from_str::<N>("[store]\nkind = \"mysql\"")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("mysql"), "{e}");
    }
}
