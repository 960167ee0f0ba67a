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

/// Reads a TOML file into `T`; unknown keys are errors when `T` says so.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    toml::from_str(&text).map_err(|e| ConfigError::Toml {
        path: path.to_owned(),
        message: e.to_string().trim_end().to_owned(),
    })
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
/// over the target, then sync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
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
}
