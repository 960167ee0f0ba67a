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
}
