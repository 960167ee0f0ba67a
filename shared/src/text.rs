//! Caller-supplied text as logs and audit records may echo it: a bounded
//! prefix, marked where it was cut ([`bounded`]), and characters that could
//! forge or hide log content written as escapes ([`escape`]).

use std::borrow::Cow;

/// `value` when it is at most `max` bytes; else its longest prefix of at
/// most `max` bytes that ends on a character boundary, followed by
/// `…[cut: N more bytes]` (N counts the bytes left out).
pub fn bounded(value: &str, max: usize) -> Cow<'_, str> {
    if value.len() <= max {
        return Cow::Borrowed(value);
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    let (kept, rest) = value.split_at(end);
    Cow::Owned(format!("{kept}…[cut: {} more bytes]", rest.len()))
}

/// Whether `c` must not reach a log line as itself: control characters,
/// bidirectional overrides and isolates, and zero-width characters.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `value` with `\n`, `\r` and `\t` written as those escapes, and every other
/// control, bidi-override and zero-width character as `\u{…}`; borrowed
/// when there is nothing to escape.
pub fn escape(value: &str) -> Cow<'_, str> {
    if !value.chars().any(hidden) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_values_are_kept_and_long_ones_cut_with_a_mark() {
        assert!(matches!(bounded("abc", 3), Cow::Borrowed("abc")));
        assert_eq!(bounded("abcdef", 4), "abcd…[cut: 2 more bytes]");
        // "é" is two bytes: the cut never splits it.
        assert_eq!(bounded("aéb", 2), "a…[cut: 3 more bytes]");
        assert_eq!(bounded("é", 0), "…[cut: 2 more bytes]");
    }

    #[test]
    fn line_breaks_bidi_overrides_and_zero_width_characters_are_escaped() {
        assert!(matches!(escape("Get-Mailbox"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\r\tc"), "a\\nb\\r\\tc");
        assert_eq!(
            escape("x\u{202E}y\u{200B}z\u{0}"),
            "x\\u{202e}y\\u{200b}z\\u{0}"
        );
    }

    proptest! {
        #[test]
        fn a_bounded_value_is_a_prefix_within_the_limit(value in ".{0,64}", max in 0usize..80) {
            let cut = bounded(&value, max);
            if value.len() <= max {
                prop_assert_eq!(cut.as_ref(), value.as_str());
            } else {
                let (kept, mark) = cut.split_once("…[cut: ").unwrap_or_default();
                prop_assert!(kept.len() <= max);
                prop_assert!(value.starts_with(kept));
                prop_assert_eq!(mark, format!("{} more bytes]", value.len() - kept.len()));
            }
        }

        #[test]
        fn an_escaped_value_has_no_line_breaks(value in any::<String>()) {
            let escaped = escape(&value);
            prop_assert!(!escaped.contains('\n') && !escaped.contains('\r'));
            prop_assert!(!escaped.chars().any(hidden));
        }
    }
}
