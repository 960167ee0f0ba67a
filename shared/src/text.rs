//! Text that comes from callers, made safe to keep and to show: names with
//! characters that hide or disguise what they say are refused, and values
//! written to logs or the audit log are escaped and cut to a bounded length.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would hide or disguise text where it is shown: control
/// characters (newlines and terminal escapes among them), bidirectional
/// overrides and isolates, and zero-width characters.
pub fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'   // zero-width space, joiners, LRM, RLM
                | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
                | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
                | '\u{2066}'..='\u{2069}' // bidi isolates
                | '\u{FEFF}' // zero-width no-break space
                | '\u{061C}' // Arabic letter mark
                | '\u{180E}' // Mongolian vowel separator
        )
}

/// Why a caller-supplied name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` holds {what} (U+{code:04X}); names may not hide or disguise what they say")]
pub struct DeceptiveName {
    /// The field or parameter.
    pub field: String,
    /// What the character is, in words.
    pub what: &'static str,
    /// The character's code point.
    pub code: u32,
}

/// Refuses `value` of `field` if it holds a character [`is_deceptive`].
pub fn check_name(field: &str, value: &str) -> Result<(), DeceptiveName> {
    match value.chars().find(|c| is_deceptive(*c)) {
        None => Ok(()),
        Some(c) => Err(DeceptiveName {
            field: field.to_owned(),
            what: if c.is_control() {
                "a control character"
            } else if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                "a bidirectional override"
            } else {
                "an invisible character"
            },
            code: u32::from(c),
        }),
    }
}

/// `value` with every character [`is_deceptive`] written as `\u{…}`
/// (`\n`, `\r` and `\t` as themselves escaped): one log line stays one line
/// and shows what it holds.
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value.chars().any(is_deceptive) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_deceptive(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `value` cut to at most `max` bytes (on a character boundary), marked
/// with how much was cut: what logs and the audit log keep of a
/// caller-supplied value.
pub fn bounded(value: &str, max: usize) -> Cow<'_, str> {
    if value.len() <= max {
        return Cow::Borrowed(value);
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}…[cut: {} more bytes]",
        &value[..end],
        value.len() - end
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hide_what_they_say_are_refused_and_others_kept() {
        for bad in [
            "a\nb",
            "x\u{1b}[31m",
            "admin\u{202E}nimda",
            "dana\u{200B}",
            "\u{FEFF}x",
        ] {
            let e = check_name("Name", bad).unwrap_err();
            assert_eq!(e.field, "Name");
            assert!(e.to_string().contains("U+"), "{e}");
        }
        for good in [
            "Dana Smith",
            "Zoë",
            "São Paulo",
            "İstanbul",
            "山田",
            "O'Brien",
        ] {
            check_name("Name", good).unwrap();
        }
    }

    #[test]
    fn escaping_keeps_one_line_and_shows_what_was_there() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(escape("x\u{202E}y"), "x\\u{202e}y");
        assert!(!escape("line\nforged: INFO").contains('\n'));
    }

    #[test]
    fn bounded_values_are_cut_on_a_character_boundary_and_marked() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded("ééééé", 3);
        assert_eq!(cut, "é…[cut: 8 more bytes]");
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_never_holds_a_deceptive_character(s in ".*") {
            proptest::prop_assert!(!escape(&s).chars().any(is_deceptive));
        }

        #[test]
        fn bounded_text_keeps_a_prefix(s in ".*", max in 0usize..64) {
            let b = bounded(&s, max);
            let kept = b.split("…[cut:").next().unwrap_or_default();
            proptest::prop_assert!(s.starts_with(kept));
            proptest::prop_assert!(kept.len() <= max);
        }
    }
}
