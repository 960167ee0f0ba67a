//! Node configuration files (TOML) and the JSON state files nodes keep.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a configuration or state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TOML is invalid; toml's message names the key and line.
    #[error("invalid configuration in `{path}`: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// What was wrong, and where.
        message: String,
    },
    /// Values that parse but cannot work, each named by its key path.
    #[error("invalid configuration in `{}`:\n{}", path.display(), problems.join("\n"))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// `key.path: what is wrong`, one per problem.
        problems: Vec<String>,
    },
    /// The JSON state is invalid.
    #[error("invalid state file `{path}`: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError + '_ {
    move |source| ConfigError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a TOML file into `T`; unknown keys are errors when `T` says so. The
/// error names the file, the key path (`trust[1].domain_sids[0]`) and the line.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    parse_toml(&text).map_err(|message| ConfigError::Toml {
        path: path.to_owned(),
        message,
    })
}

/// Parses TOML text into `T`; the error is `key.path: message (line N)`.
pub fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
        let inner = e.inner();
        let line = inner
            .span()
            .map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1)
            .map(|n| format!(" (line {n})"))
            .unwrap_or_default();
        let key = e.path().to_string();
        let message = inner.message().trim_end();
        if key == "." {
            format!("{message}{line}")
        } else {
            format!("{key}: {message}{line}")
        }
    })
}

/// Operational settings of a node, the `[operations]` table of its TOML file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Operations {
    /// `host:port` of the plain-HTTP `/metrics` endpoint; none (the default)
    /// serves no metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// How often certificate and trust-bundle files are checked for changes,
    /// in seconds; 0 reloads only on SIGHUP.
    pub reload_interval_secs: u64,
    /// How long in-flight requests may take to finish after SIGTERM or Ctrl-C.
    pub drain_timeout_secs: u64,
    /// Resource forests: how often each trusted forest is probed with its
    /// linked credential (`crossforest_trust_link_up`), in seconds; 0 never.
    /// Account forests ignore it.
    pub trust_probe_interval_secs: u64,
    /// Requests per second each principal (forest and SID of its client
    /// certificate) may sustain; past its bucket a request is refused with
    /// RESOURCE_EXHAUSTED. 0 sets no limit.
    pub requests_per_second: u32,
    /// Requests a principal may send at once after idling (the bucket's
    /// size); at least 1 when `requests_per_second` is set.
    pub burst: u32,
}

impl Default for Operations {
    fn default() -> Self {
        Self {
            metrics_listen: None,
            reload_interval_secs: 2,
            drain_timeout_secs: 30,
            trust_probe_interval_secs: 30,
            requests_per_second: crate::limits::REQUESTS_PER_SECOND,
            burst: crate::limits::BURST,
        }
    }
}

impl Operations {
    /// Checks the settings, naming `operations.<key>` in each problem.
    pub fn check(&self, listen: &str, problems: &mut Problems) {
        if let Some(metrics) = &self.metrics_listen {
            if problems.address("operations.metrics_listen", metrics) && metrics == listen {
                problems.push(
                    "operations.metrics_listen",
                    format!("`{metrics}` is also `listen`; metrics need their own port"),
                );
            }
        }
        if self.drain_timeout_secs == 0 {
            problems.push(
                "operations.drain_timeout_secs",
                "must be at least 1 second; in-flight requests need time to finish",
            );
        }
        if self.requests_per_second > 0 && self.burst == 0 {
            problems.push(
                "operations.burst",
                "must be at least 1 while `requests_per_second` is set; 0 would refuse every request",
            );
        }
    }
}

/// Problems found in a configuration, each `key.path: what is wrong`.
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem at `key`.
    pub fn push(&mut self, key: impl std::fmt::Display, message: impl std::fmt::Display) {
        self.0.push(format!("{key}: {message}"));
    }

    /// Checks that `value` at `key` is `host:port`; false (and recorded) if not.
    pub fn address(&mut self, key: &str, value: &str) -> bool {
        let ok = value.parse::<std::net::SocketAddr>().is_ok()
            || value
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            self.push(key, format!("`{value}` is not `host:port`"));
        }
        ok
    }

    /// Checks that `file` at `key` is a readable PEM certificate (and, with
    /// `with_key`, also holds a private key).
    pub fn pem_file(&mut self, key: &str, file: &Path, with_key: bool) {
        let checked = if with_key {
            crate::pki::IssuedCertificate::read_combined(file).map(|_| ())
        } else {
            crate::pki::read_text(file).and_then(|pem| {
                crate::pki::first_certificate_der(&pem, &file.display().to_string()).map(|_| ())
            })
        };
        if let Err(e) = checked {
            self.push(key, e);
        }
    }

    /// `Ok` when nothing was found, else every problem, for `path`.
    pub fn into_result(self, path: &Path) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                problems: self.0,
            })
        }
    }
}

/// Writes `value` as TOML.
pub fn write_toml<T: Serialize>(path: &Path, value: &T) -> Result<(), ConfigError> {
    let text = toml::to_string_pretty(value).map_err(|e| ConfigError::Toml {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON state file, `None` when it does not exist yet.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ConfigError::Json {
                path: path.to_owned(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes `value` as JSON, atomically: a reader (or a crash) sees the old or the
/// new content, never a mix.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ConfigError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| ConfigError::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

/// Write to a temporary file in the same directory, flush it to disk, rename it
/// over the target, then sync the directory. The file is owner-only (0600).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("tmp");
    {
        // Owner-only from the start, whatever the umask: configuration,
        // state and announcements are the node's own (a file written
        // before is replaced with its mode).
        let mut file = crate::private::open_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuses to create a node where a configuration file already exists.
pub fn refuse_existing(config_path: &Path) -> Result<(), ConfigError> {
    if config_path.exists() {
        return Err(ConfigError::Io {
            path: config_path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a node already exists here; refusing to overwrite it",
            ),
        });
    }
    Ok(())
}

/// `path` relative to the directory of the configuration file `config`, unless
/// it is absolute.
pub fn resolve(config: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        config.parent().unwrap_or(Path::new(".")).join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        forest: String,
    }

    #[test]
    fn unknown_key_is_named() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "forest = \"x\"\nlisten_adress = \"1\"\n")?;
        let err = read_toml::<Sample>(&path).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("listen_adress")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn a_bad_value_names_its_key_path_and_line() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            forest: String,
            trust: Vec<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            domain_sids: Vec<crate::DomainSid>,
        }
        let text = "forest = \"x\"\n[[trust]]\ndomain_sids = [\"S-1-5-21-1-2-3\"]\n[[trust]]\ndomain_sids = [\"S-1-5-21-x\"]\n";
        let err = parse_toml::<Outer>(text).err().unwrap_or_default();
        assert!(err.starts_with("trust[1].domain_sids[0]: "), "{err}");
        assert!(
            err.contains("S-1-5-21-x") && err.ends_with("(line 5)"),
            "{err}"
        );
        let unknown = parse_toml::<Outer>("forest = \"x\"\ntrust = [{ domain_sid = [] }]\n")
            .err()
            .unwrap_or_default();
        assert!(
            unknown.starts_with("trust[0].domain_sid: unknown field `domain_sid`"),
            "{unknown}"
        );
    }

    #[test]
    fn operations_are_checked() {
        let mut problems = Problems::new();
        Operations {
            metrics_listen: Some("127.0.0.1:7000".into()),
            reload_interval_secs: 2,
            drain_timeout_secs: 0,
            trust_probe_interval_secs: 30,
            requests_per_second: 10,
            burst: 0,
        }
        .check("127.0.0.1:7000", &mut problems);
        problems.address("listen", "nowhere");
        let err = problems
            .into_result(Path::new("node.toml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("operations.metrics_listen: `127.0.0.1:7000` is also `listen`"),
            "{err}"
        );
        assert!(
            err.contains("operations.drain_timeout_secs: must be at least 1"),
            "{err}"
        );
        assert!(
            err.contains("operations.burst: must be at least 1"),
            "{err}"
        );
        assert!(
            err.contains("listen: `nowhere` is not `host:port`"),
            "{err}"
        );
    }

    #[test]
    fn json_round_trips_atomically() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("state.json");
        assert_eq!(read_json::<Sample>(&path)?, None);
        let value = Sample { forest: "a".into() };
        write_json(&path, &value)?;
        assert_eq!(read_json::<Sample>(&path)?, Some(value));
        assert!(!path.with_extension("tmp").exists());
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn what_is_written_is_owner_only_even_over_a_readable_file(
    ) -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "old")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        write_atomic(&path, b"listen = \"127.0.0.1:1\"")?;
        let mode = std::fs::metadata(&path)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        Ok(())
    }
}
