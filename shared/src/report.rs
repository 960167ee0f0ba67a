//! How a command reports an error: its message, then each cause that adds
//! something, each printed once.
//!
//! Many errors quote their cause in their own message (`cannot open `x`:
//! No such file or directory (os error 2)`) and also return it as their
//! `source()`; printing the whole chain would repeat it.

use std::error::Error;

/// `error` and its causes joined with `: `, leaving out a cause whose text
/// the message so far already holds.
pub fn error_chain<'a>(causes: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut text = String::new();
    for cause in causes {
        let message = cause.to_string();
        if message.is_empty() || text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// Writes `error: <chain>` to standard error.
pub fn print_error<'a>(causes: impl IntoIterator<Item = &'a (dyn Error + 'static)>) {
    eprintln!("error: {}", error_chain(causes));
}

/// The exit status of a command that failed because an address it was to
/// listen on is held by another program (`EADDRINUSE`), so that a launcher
/// such as `crossforest up` can move the node to another port and start it
/// again.
pub const EXIT_ADDRESS_IN_USE: u8 = 98;

/// The exit status for a failed command: [`EXIT_ADDRESS_IN_USE`] when one of
/// `causes` is an address in use, else 1.
pub fn exit_status<'a>(causes: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> u8 {
    let in_use = causes.into_iter().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::AddrInUse)
    });
    if in_use {
        EXIT_ADDRESS_IN_USE
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open `{path}`: {source}")]
    struct Open {
        path: &'static str,
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the directory's store")]
    struct Store(#[source] Open);

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let io_text = io.to_string();
        let error = Store(Open {
            path: "data/directory.redb",
            source: io,
        });
        let causes =
            std::iter::successors(Some(&error as &(dyn Error + 'static)), |c| (*c).source());
        let text = error_chain(causes);
        assert_eq!(
            text,
            format!("the directory's store: cannot open `data/directory.redb`: {io_text}")
        );
        assert_eq!(text.matches(&io_text).count(), 1, "{text}");
    }

    #[test]
    fn an_address_in_use_has_its_own_exit_status() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = listener.local_addr().unwrap();
        let bind = std::net::TcpListener::bind(taken).unwrap_err();
        let error = Store(Open {
            path: "127.0.0.1",
            source: bind,
        });
        let causes =
            std::iter::successors(Some(&error as &(dyn Error + 'static)), |c| (*c).source());
        assert_eq!(exit_status(causes), EXIT_ADDRESS_IN_USE);
        let other = Store(Open {
            path: "x",
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        let causes =
            std::iter::successors(Some(&other as &(dyn Error + 'static)), |c| (*c).source());
        assert_eq!(exit_status(causes), 1);
    }
}
