//! `Get-Date`: the current time (UTC), in .NET's format notation.

use time::OffsetDateTime;

/// `time` written as `format` (`yyyy`, `MM`, `dd`, `HH`, `mm`, `ss`; `o` for
/// ISO 8601); `yyyy-MM-dd HH:mm:ss` by default.
pub fn format(time: OffsetDateTime, format: Option<&str>) -> String {
    let format = match format {
        Some("o" | "O" | "s") => "yyyy-MM-ddTHH:mm:ssZ",
        Some(f) => f,
        None => "yyyy-MM-dd HH:mm:ss",
    };
    let tokens: [(&str, String); 6] = [
        ("yyyy", format!("{:04}", time.year())),
        ("MM", format!("{:02}", u8::from(time.month()))),
        ("dd", format!("{:02}", time.day())),
        ("HH", format!("{:02}", time.hour())),
        ("mm", format!("{:02}", time.minute())),
        ("ss", format!("{:02}", time.second())),
    ];
    let mut out = String::new();
    let mut rest = format;
    'outer: while !rest.is_empty() {
        for (token, value) in &tokens {
            if let Some(after) = rest.strip_prefix(token) {
                out.push_str(value);
                rest = after;
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// The current time written as `format`.
pub fn now(f: Option<&str>) -> String {
    format(OffsetDateTime::now_utc(), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_tokens() {
        let t = time::macros::datetime!(2024-06-04 09:05:03 UTC);
        assert_eq!(format(t, None), "2024-06-04 09:05:03");
        assert_eq!(format(t, Some("yyyyMMdd-HHmm")), "20240604-0905");
        assert_eq!(format(t, Some("o")), "2024-06-04T09:05:03Z");
    }
}
