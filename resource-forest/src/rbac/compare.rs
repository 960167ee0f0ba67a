//! The comparison operators and the wildcard matcher, in one home: the
//! management shell's `Where-Object` (and every expression of a script) and
//! the resource forest's OPATH filters compare with the same code.
//!
//! As in PowerShell, comparisons are case-insensitive unless the operator is
//! written with a `c` prefix (`-ceq`); an `i` prefix (`-ieq`) says
//! case-insensitive explicitly. Two values that both read as numbers compare
//! as numbers. Wildcards: `*` matches any run of characters, `?` one
//! character.

use std::cmp::Ordering;
use std::fmt;

/// A comparison operator, without its case prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `-eq`
    Eq,
    /// `-ne`
    Ne,
    /// `-gt`
    Gt,
    /// `-lt`
    Lt,
    /// `-ge`
    Ge,
    /// `-le`
    Le,
    /// `-like`
    Like,
    /// `-notlike`
    NotLike,
    /// `-match` (a regular expression)
    Match,
    /// `-notmatch`
    NotMatch,
    /// `-contains`: the left-hand collection holds the right-hand value.
    Contains,
    /// `-notcontains`
    NotContains,
    /// `-in`: the left-hand value is in the right-hand collection.
    In,
    /// `-notin`
    NotIn,
}

/// Every operator with its name.
pub const OPERATORS: [(&str, Operator); 14] = [
    ("eq", Operator::Eq),
    ("ne", Operator::Ne),
    ("gt", Operator::Gt),
    ("lt", Operator::Lt),
    ("ge", Operator::Ge),
    ("le", Operator::Le),
    ("like", Operator::Like),
    ("notlike", Operator::NotLike),
    ("match", Operator::Match),
    ("notmatch", Operator::NotMatch),
    ("contains", Operator::Contains),
    ("notcontains", Operator::NotContains),
    ("in", Operator::In),
    ("notin", Operator::NotIn),
];

impl Operator {
    /// The operator named `name` (without the dash, any case), with whether
    /// it is case-sensitive (`c` prefix); `None` for anything else.
    pub fn parse(name: &str) -> Option<(Self, bool)> {
        let lower = name.to_ascii_lowercase();
        let find = |n: &str| OPERATORS.iter().find(|(o, _)| *o == n).map(|(_, op)| *op);
        if let Some(op) = find(&lower) {
            return Some((op, false));
        }
        if let Some(rest) = lower.strip_prefix('i') {
            return find(rest).map(|op| (op, false));
        }
        lower
            .strip_prefix('c')
            .and_then(|rest| find(rest).map(|op| (op, true)))
    }

    /// The name, without the dash.
    pub fn name(self) -> &'static str {
        OPERATORS
            .iter()
            .find(|(_, op)| *op == self)
            .map_or("eq", |(n, _)| n)
    }

    /// The positive operator and whether this one negates it
    /// (`-notlike` is `-like`, negated).
    pub fn split(self) -> (Self, bool) {
        match self {
            Self::Ne => (Self::Eq, true),
            Self::NotLike => (Self::Like, true),
            Self::NotMatch => (Self::Match, true),
            Self::NotContains => (Self::Contains, true),
            Self::NotIn => (Self::In, true),
            other => (other, false),
        }
    }

    /// Whether the operator compares a value with a collection
    /// (`-contains`, `-in` and their negations).
    pub fn is_membership(self) -> bool {
        matches!(self.split().0, Self::Contains | Self::In)
    }

    /// Compares two scalar texts: `actual -op expected`. For the membership
    /// operators this is the test of one item (equality).
    ///
    /// # Errors
    ///
    /// `-match` with an invalid regular expression.
    pub fn holds(self, actual: &str, expected: &str, case_sensitive: bool) -> Result<bool, String> {
        let holds = match self {
            Self::Eq | Self::Ne | Self::Contains | Self::NotContains | Self::In | Self::NotIn => {
                order(actual, expected, case_sensitive) == Ordering::Equal
            }
            Self::Gt => order(actual, expected, case_sensitive) == Ordering::Greater,
            Self::Lt => order(actual, expected, case_sensitive) == Ordering::Less,
            Self::Ge => order(actual, expected, case_sensitive) != Ordering::Less,
            Self::Le => order(actual, expected, case_sensitive) != Ordering::Greater,
            Self::Like | Self::NotLike => wildcard_match_case(expected, actual, case_sensitive),
            Self::Match | Self::NotMatch => pattern(expected, case_sensitive)?.is_match(actual),
        };
        Ok(holds != self.split().1)
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.name())
    }
}

/// A regular expression for `-match`, bounded in size.
///
/// # Errors
///
/// The pattern does not compile; the message says why.
pub fn pattern(source: &str, case_sensitive: bool) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(source)
        .case_insensitive(!case_sensitive)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("`{source}` is not a valid regular expression: {e}"))
}

fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// How `a` orders against `b`: as numbers when both are numbers, else as
/// text (case-insensitively unless `case_sensitive`).
pub fn order(a: &str, b: &str, case_sensitive: bool) -> Ordering {
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if case_sensitive {
        return a.cmp(b);
    }
    if a.is_ascii() && b.is_ascii() {
        return a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()));
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

/// Case-insensitive equality of two texts, without allocating.
pub fn same_text(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Lower-cases `text` for case-insensitive matching.
fn fold(text: &str) -> Vec<char> {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Case-insensitive wildcard match of `text` against `pattern`: `*` matches
/// any run of characters, `?` any one character.
///
/// Greedy two-pointer matching with backtracking to the last star only:
/// `O(pattern × text)` at worst, never exponential.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    wildcard_match_case(pattern, text, false)
}

/// [`wildcard_match`], case-sensitive when asked.
pub fn wildcard_match_case(pattern: &str, text: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        return wildcard_slices(&p, &t, '*', '?', |a, b| a == b);
    }
    if pattern.is_ascii() && text.is_ascii() {
        // The common case, without allocating: bytes, folded as compared.
        return wildcard_slices(pattern.as_bytes(), text.as_bytes(), b'*', b'?', |a, b| {
            a.eq_ignore_ascii_case(b)
        });
    }
    wildcard_slices(&fold(pattern), &fold(text), '*', '?', |a, b| a == b)
}

/// Whether `text` holds a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// The wildcard algorithm over any slices: `star` matches any run, `one`
/// any single item.
fn wildcard_slices<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    star_item: T,
    one: T,
    same: impl Fn(&T, &T) -> bool,
) -> bool {
    let mut p = 0;
    let mut t = 0;
    // Position of the last star seen and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(c) if *c == star_item => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == one || same(c, &text[t]) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // Let the last star absorb one more character.
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == star_item))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn operators_parse_with_case_prefixes() {
        assert_eq!(Operator::parse("EQ"), Some((Operator::Eq, false)));
        assert_eq!(Operator::parse("ilike"), Some((Operator::Like, false)));
        assert_eq!(Operator::parse("cne"), Some((Operator::Ne, true)));
        assert_eq!(Operator::parse("notin"), Some((Operator::NotIn, false)));
        assert_eq!(Operator::parse("in"), Some((Operator::In, false)));
        assert_eq!(Operator::parse("and"), None);
        assert_eq!(Operator::parse("x"), None);
        assert_eq!(Operator::NotContains.to_string(), "-notcontains");
    }

    #[test]
    fn comparisons_are_case_insensitive_and_numeric_when_both_are_numbers() {
        let holds = |op: Operator, a: &str, b: &str| op.holds(a, b, false).unwrap();
        assert!(holds(Operator::Eq, "Dana", "dana"));
        assert!(!Operator::Eq.holds("Dana", "dana", true).unwrap());
        assert!(holds(Operator::Eq, "010", "10"));
        assert!(holds(Operator::Gt, "10", "9"));
        assert!(holds(Operator::Lt, "apple", "Banana"));
        assert!(holds(Operator::Ge, "b", "B"));
        assert!(holds(Operator::Le, "1.5", "2"));
        assert!(holds(Operator::Like, "Floor 2", "fl??r*"));
        assert!(holds(Operator::NotLike, "Floor 2", "x*"));
        assert!(holds(Operator::Match, "Floor 2", "^FLOOR \\d$"));
        assert!(holds(Operator::NotMatch, "Floor 2", "x"));
        assert!(Operator::Match.holds("a", "(", false).is_err());
    }

    #[test]
    fn wildcard_basics() {
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("*b*", "abc"));
        assert!(!wildcard_match("a*d", "abc"));
        assert!(wildcard_match("ÄB*", "äbc"));
        assert!(wildcard_match("d?na", "DANA"));
        assert!(!wildcard_match("d?na", "dna"));
        assert!(!wildcard_match_case("D*", "dana", true));
    }

    proptest! {
        #[test]
        fn a_pattern_without_wildcards_is_equality(a in "[a-zA-Z0-9 ]{0,12}", b in "[a-zA-Z0-9 ]{0,12}") {
            prop_assert_eq!(wildcard_match(&a, &b), same_text(&a, &b));
        }

        #[test]
        fn star_matches_any_suffix(prefix in "[a-z]{0,6}", rest in "\\PC{0,12}") {
            let text = format!("{prefix}{rest}");
            let pattern = format!("{}*", prefix.to_uppercase());
            prop_assert!(wildcard_match(&pattern, &text));
        }
    }
}
