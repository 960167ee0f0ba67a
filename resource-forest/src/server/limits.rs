//! The size of every field a caller sends, checked at the server edge before
//! the request is logged, audited, authorised or run: a field past its limit
//! in [`crossforest_shared::limits`] is refused with INVALID_ARGUMENT naming
//! it, and nothing else happens.

use crossforest_shared::limits::{
    count, length, MAX_CMDLET_NAME, MAX_IDENTITY, MAX_PARAMETERS, MAX_PARAMETER_NAME,
    MAX_STATEMENT_ID, MAX_VALUE,
};
use crossforest_shared::proto::management::v1 as pb;
use crossforest_shared::serve::status::EdgeError;

/// Whether parameter `name` names the object acted on (`-Identity`, or a
/// positional value).
fn is_identity(name: &str) -> bool {
    let name = name.trim_start_matches('-');
    name.is_empty() || name.eq_ignore_ascii_case("Identity")
}

fn cmdlet(field: &str, name: &str) -> Result<(), EdgeError> {
    length(field, field, name, MAX_CMDLET_NAME)
}

/// Checks an `Invoke`: the cmdlet name, the number of parameters, each name
/// and each value (an identity to [`MAX_IDENTITY`], any other to
/// [`MAX_VALUE`], each item of a list too).
pub fn invoke(request: &pb::InvokeRequest) -> Result<(), EdgeError> {
    let pb::InvokeRequest {
        cmdlet: name,
        parameters,
        statement,
        at_least_revision: _,
    } = request;
    cmdlet("cmdlet", name)?;
    length("statement", "statement", statement, MAX_STATEMENT_ID)?;
    count("parameters", parameters.len(), MAX_PARAMETERS)?;
    for (i, pb::Parameter { name, value }) in parameters.iter().enumerate() {
        let field = format!("parameters[{i}].name");
        length(&field, &field, name, MAX_PARAMETER_NAME)?;
        let shown = if name.is_empty() {
            "Identity"
        } else {
            name.trim_start_matches('-')
        };
        let max = if is_identity(name) {
            MAX_IDENTITY
        } else {
            MAX_VALUE
        };
        let check = |text: &str| length(shown, &format!("-{shown}"), text, max);
        match value.as_ref().and_then(|v| v.kind.as_ref()) {
            Some(pb::parameter_value::Kind::Text(text)) => check(text)?,
            Some(pb::parameter_value::Kind::List(pb::StringList { values })) => {
                values.iter().try_for_each(|v| check(v))?;
            }
            Some(pb::parameter_value::Kind::Boolean(_) | pb::parameter_value::Kind::Switch(_))
            | None => {}
        }
    }
    Ok(())
}

/// Checks a `Check` or `WhoCan` question (`prefix` names it within a bulk
/// call, e.g. `checks[3].`): the cmdlet name, the number and names of the
/// parameters, and the target.
pub fn check(prefix: &str, request: &pb::CheckRequest) -> Result<(), EdgeError> {
    let pb::CheckRequest {
        cmdlet: name,
        parameters,
        target,
        write: _,
        at_least_revision: _,
    } = request;
    // Field names are only spelled out for a field past its limit: a check
    // within the limits allocates nothing (issue 20).
    let within = |field: &dyn Fn() -> String, value: &str, max: usize| {
        if value.len() > max {
            let field = field();
            return length(&field, &field, value, max);
        }
        Ok(())
    };
    within(&|| format!("{prefix}cmdlet"), name, MAX_CMDLET_NAME)?;
    if parameters.len() > MAX_PARAMETERS {
        count(
            &format!("{prefix}parameters"),
            parameters.len(),
            MAX_PARAMETERS,
        )?;
    }
    for (i, name) in parameters.iter().enumerate() {
        within(
            &|| format!("{prefix}parameters[{i}]"),
            name,
            MAX_PARAMETER_NAME,
        )?;
    }
    within(&|| format!("{prefix}target"), target, MAX_IDENTITY)
}

/// The longest permission model `ApplyPermissionModel` reads: 1 MiB.
pub const MAX_MODEL: usize = 1024 * 1024;

/// Checks an `ApplyPermissionModel`: the name to [`MAX_IDENTITY`], the
/// model to [`MAX_MODEL`].
pub fn permission_model(request: &pb::ApplyPermissionModelRequest) -> Result<(), EdgeError> {
    length("name", "name", &request.name, MAX_IDENTITY)?;
    length("model", "model", &request.model, MAX_MODEL)?;
    // The lines of a plan come from a model of at most MAX_MODEL bytes; a
    // caller gets no more room by sending them back.
    let expected = request.expected.as_ref().map_or(0, |e| {
        e.lines.iter().map(String::len).sum::<usize>() + e.lines.len()
    });
    if expected > 4 * MAX_MODEL {
        return Err(EdgeError::invalid(
            "expected",
            format!("the expected plan is over {} bytes", 4 * MAX_MODEL),
        ));
    }
    Ok(())
}

/// Checks a `PrepareDomain`: the domain's name to [`MAX_IDENTITY`].
pub fn prepare_domain(request: &pb::PrepareDomainRequest) -> Result<(), EdgeError> {
    length("domain", "domain", &request.domain, MAX_IDENTITY)
}

/// Checks a `ServerSetup`: each name to [`MAX_IDENTITY`], the lists of
/// nodes and roles to [`MAX_PARAMETERS`] items.
pub fn setup(request: &pb::ServerSetupRequest) -> Result<(), EdgeError> {
    let pb::ServerSetupRequest {
        operation: _,
        server,
        delegate,
        nodes,
        cluster,
        node,
        roles,
        site,
    } = request;
    for (field, value) in [
        ("server", server),
        ("delegate", delegate),
        ("cluster", cluster),
        ("node", node),
        ("site", site),
    ] {
        length(field, field, value, MAX_IDENTITY)?;
    }
    for (field, values) in [("nodes", nodes), ("roles", roles)] {
        count(field, values.len(), MAX_PARAMETERS)?;
        for (i, value) in values.iter().enumerate() {
            let field = format!("{field}[{i}]");
            length(&field, &field, value, MAX_IDENTITY)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, value: String) -> pb::Parameter {
        pb::Parameter {
            name: name.into(),
            value: Some(pb::ParameterValue {
                kind: Some(pb::parameter_value::Kind::Text(value)),
            }),
        }
    }

    fn invoking(cmdlet: &str, parameters: Vec<pb::Parameter>) -> Result<(), EdgeError> {
        invoke(&pb::InvokeRequest {
            cmdlet: cmdlet.into(),
            parameters,
            statement: String::new(),
            at_least_revision: 0,
        })
    }

    fn field(result: Result<(), EdgeError>) -> String {
        match result {
            Err(EdgeError::InvalidArgument { field, .. }) => field,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn every_field_of_an_invoke_past_its_limit_is_refused_by_name() {
        let long = |n: usize| "x".repeat(n);
        assert_eq!(
            invoking(
                "Get-ManagementRoleAssignment",
                vec![text("Identity", long(1024))]
            ),
            Ok(())
        );
        assert_eq!(field(invoking(&long(65), vec![])), "cmdlet");
        let many = (0..65)
            .map(|i| text(&format!("P{i}"), "v".into()))
            .collect();
        assert_eq!(field(invoking("Get-Mailbox", many)), "parameters");
        assert_eq!(
            field(invoking(
                "Get-Mailbox",
                vec![text("a", "v".into()), text(&long(65), "v".into())]
            )),
            "parameters[1].name"
        );
        assert_eq!(
            invoking("Set-Mailbox", vec![text("Office", long(4097))]),
            Err(EdgeError::invalid(
                "Office",
                "`-Office` is longer than 4096 characters"
            ))
        );
        assert_eq!(
            field(invoking("Get-Mailbox", vec![text("", long(1025))])),
            "Identity"
        );
        assert_eq!(
            field(invoking("Get-Mailbox", vec![text("-identity", long(1025))])),
            "identity"
        );
        let list = pb::Parameter {
            name: "Members".into(),
            value: Some(pb::ParameterValue {
                kind: Some(pb::parameter_value::Kind::List(pb::StringList {
                    values: vec!["a".into(), long(4097)],
                })),
            }),
        };
        assert_eq!(
            field(invoking("Add-RoleGroupMember", vec![list])),
            "Members"
        );
    }

    #[test]
    fn every_field_of_a_check_past_its_limit_is_refused_by_name() {
        let question = |cmdlet: String, parameters: Vec<String>, target: String| pb::CheckRequest {
            cmdlet,
            parameters,
            target,
            write: None,
            at_least_revision: 0,
        };
        let ok = question(
            "Set-Mailbox".into(),
            vec!["Office".into()],
            "x".repeat(1024),
        );
        assert_eq!(check("", &ok), Ok(()));
        let cases = [
            (
                question("x".repeat(65), vec![], String::new()),
                "checks[2].cmdlet",
            ),
            (
                question("Get-Mailbox".into(), vec![String::new(); 65], String::new()),
                "checks[2].parameters",
            ),
            (
                question("Get-Mailbox".into(), vec!["x".repeat(65)], String::new()),
                "checks[2].parameters[0]",
            ),
            (
                question("Get-Mailbox".into(), vec![], "x".repeat(1025)),
                "checks[2].target",
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(field(check("checks[2].", &request)), expected);
        }
    }
}
