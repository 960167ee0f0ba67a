//! Every limit on what one trusted caller may send or make a node keep, in
//! one place: sizes of request fields (checked at the server edge before
//! anything is logged, audited or run), how much of a caller's text a log
//! line or audit record echoes, and the defaults of the per-principal rate
//! limit (`[operations]`, see [`crate::config::Operations`]).
//!
//! Lengths are UTF-8 bytes: characters, for the ASCII names Exchange uses.

use crate::serve::status::EdgeError;

/// Longest cmdlet name (the longest real one has about 40 characters).
pub const MAX_CMDLET_NAME: usize = 64;

/// Longest parameter name.
pub const MAX_PARAMETER_NAME: usize = 64;

/// Most parameters in one request or check.
pub const MAX_PARAMETERS: usize = 64;

/// Longest parameter value (each item of a list value too); the cmdlets'
/// own binding refuses the same (`cmdlets::args::MAX_VALUE_LEN` is this).
pub const MAX_VALUE: usize = 4096;

/// Longest identity, target, server, user, group or password name.
pub const MAX_IDENTITY: usize = 1024;

/// How much of a caller-supplied value an audit record or log line keeps
/// (see [`crate::text::bounded`]).
pub const ECHO_VALUE: usize = 1024;

/// How much of all of a request's parameter values together an audit record
/// keeps: past it, each further value is only its cut mark.
pub const ECHO_PARAMETERS: usize = 8 * 1024;

/// How much of a user, group or principal name a log line keeps.
pub const ECHO_NAME: usize = 256;

/// How much of an error message an audit record keeps.
pub const ECHO_ERROR: usize = 1024;

/// How much of an unknown gRPC method path a log line keeps.
pub const ECHO_METHOD: usize = 128;

/// Default sustained requests per second of one principal.
pub const REQUESTS_PER_SECOND: u32 = 500;

/// Default burst of one principal: requests it may send at once after idling.
pub const BURST: u32 = 1000;

/// Most principals whose rate-limit buckets are kept; past it, idle ones
/// (whose buckets are full again) are dropped first, then the longest idle.
pub const MAX_TRACKED_PRINCIPALS: usize = 10_000;

/// Default seconds a resource forest keeps a statement (R-SESSION-1) open
/// without a call (`[statements] idle_secs`).
pub const STATEMENT_IDLE_SECS: u64 = 60;

/// Default seconds a statement lasts at most, in use or not
/// (`[statements] lifetime_secs`): the longest a pipeline keeps the
/// permissions it started with.
pub const STATEMENT_LIFETIME_SECS: u64 = 600;

/// Default statements one caller may have open at once
/// (`[statements] max_per_caller`).
pub const STATEMENTS_PER_CALLER: usize = 8;

/// Default statements a resource forest keeps open in all
/// (`[statements] max_open`).
pub const MAX_OPEN_STATEMENTS: usize = 10_000;

/// Longest statement id a caller may send (the node makes 32 characters).
pub const MAX_STATEMENT_ID: usize = 64;

/// Refuses `value` of `field` (named in the message as `shown`) when it is
/// longer than `max` bytes.
pub fn length(field: &str, shown: &str, value: &str, max: usize) -> Result<(), EdgeError> {
    if value.len() > max {
        return Err(EdgeError::invalid(
            field,
            format!("`{shown}` is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// Refuses `count` items of `field` when there are more than `max`.
pub fn count(field: &str, count: usize, max: usize) -> Result<(), EdgeError> {
    if count > max {
        return Err(EdgeError::invalid(
            field,
            format!("`{field}` has {count} items; at most {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_past_its_limit_is_an_invalid_argument_naming_it() {
        assert_eq!(length("cmdlet", "cmdlet", &"x".repeat(64), 64), Ok(()));
        assert_eq!(
            length("cmdlet", "cmdlet", &"x".repeat(65), 64),
            Err(EdgeError::invalid(
                "cmdlet",
                "`cmdlet` is longer than 64 characters"
            ))
        );
        assert_eq!(
            count("parameters", 65, MAX_PARAMETERS),
            Err(EdgeError::invalid(
                "parameters",
                "`parameters` has 65 items; at most 64"
            ))
        );
    }
}
