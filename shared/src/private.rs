//! Files only the node's own account may read: keys, stores, the audit log
//! and node logs are 0600, the directories holding them 0700. Nodes make
//! them so, and warn at start-up about any that another account can read.

use std::path::{Path, PathBuf};

/// Owner read and write only.
pub const FILE_MODE: u32 = 0o600;
/// Owner only.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` if needed and makes it owner-only; the parents it had to
/// create are owner-only too (existing ones are left as they are).
pub fn dir(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    std::fs::create_dir_all(dir)?;
    for created in missing {
        set_mode(created, DIR_MODE)?;
    }
    set_mode(dir, DIR_MODE)
}

/// Makes the existing `file` owner-only (read and write).
pub fn file(file: &Path) -> std::io::Result<()> {
    set_mode(file, FILE_MODE)
}

/// Options that create a file owner-only (0600), whatever the umask.
pub fn open_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// The directories among `dirs`, and the files in them (and in their
/// subdirectories, one level down), that an account other than the owner
/// can read, write or enter — except certificates, which are public
/// (`*.pem` files holding no private key). What a node warns about at start.
pub fn loose(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in dirs {
        visit(dir, 0, &mut found);
    }
    found
}

fn visit(path: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_dir() {
        if others_can_use(&meta) {
            found.push(path.to_owned());
        }
        if depth < 2 {
            if let Ok(entries) = std::fs::read_dir(path) {
                for entry in entries.flatten() {
                    visit(&entry.path(), depth + 1, found);
                }
            }
        }
    } else if meta.is_file() && others_can_use(&meta) && !is_public_certificate(path) {
        found.push(path.to_owned());
    }
}

#[cfg(unix)]
fn others_can_use(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

#[cfg(not(unix))]
fn others_can_use(_meta: &std::fs::Metadata) -> bool {
    false
}

fn is_public_certificate(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pem")
        && std::fs::read_to_string(path).is_ok_and(|t| !t.contains("PRIVATE KEY"))
}

/// Logs a warning for every path [`loose`] finds under `dirs`.
pub fn warn_if_loose(dirs: &[&Path]) {
    for path in loose(dirs) {
        tracing::warn!(
            path = %path.display(),
            "readable by other accounts: keys, stores and logs should be 0600 and their directories 0700"
        );
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn loose_files_and_directories_are_found_and_public_certificates_are_not() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        dir(&data).unwrap();
        let store = data.join("organization.redb");
        std::fs::write(&store, "x").unwrap();
        file(&store).unwrap();
        let ca = data.join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----").unwrap();
        std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose(&[&data]), Vec::<PathBuf>::new());

        let key = data.join("server.pem");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = loose(&[&data]);
        assert!(found.contains(&data) && found.contains(&key), "{found:?}");
        assert!(!found.contains(&ca));
    }
}
