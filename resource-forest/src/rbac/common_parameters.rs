//! PowerShell's common parameters, in one list: binding accepts them on every
//! cmdlet (the risk-mitigation ones on the cmdlets that change something) and
//! RBAC never asks a role entry for them.

/// One common parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonParameter {
    /// Name as PowerShell spells it.
    pub name: &'static str,
    /// Whether it is a switch (otherwise it takes one value).
    pub switch: bool,
    /// Whether it is a risk-mitigation parameter (`-WhatIf`, `-Confirm`),
    /// which only cmdlets that change something take (`SupportsShouldProcess`).
    pub risk_mitigation: bool,
}

const fn switch(name: &'static str) -> CommonParameter {
    CommonParameter {
        name,
        switch: true,
        risk_mitigation: false,
    }
}

const fn value(name: &'static str) -> CommonParameter {
    CommonParameter {
        name,
        switch: false,
        risk_mitigation: false,
    }
}

const fn risk_mitigation(name: &'static str) -> CommonParameter {
    CommonParameter {
        name,
        switch: true,
        risk_mitigation: true,
    }
}

/// The common parameters (`about_CommonParameters`), then the risk-mitigation
/// ones. No role entry lists any of them: a role grants a cmdlet's own
/// parameters only.
pub const COMMON_PARAMETERS: [CommonParameter; 14] = [
    switch("Verbose"),
    switch("Debug"),
    value("ErrorAction"),
    value("WarningAction"),
    value("InformationAction"),
    value("ProgressAction"),
    value("ErrorVariable"),
    value("WarningVariable"),
    value("InformationVariable"),
    value("OutVariable"),
    value("OutBuffer"),
    value("PipelineVariable"),
    risk_mitigation("WhatIf"),
    risk_mitigation("Confirm"),
];

/// The common parameter named `name` (case-insensitive).
pub fn common_parameter(name: &str) -> Option<&'static CommonParameter> {
    COMMON_PARAMETERS
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// Whether `name` is a common parameter (case-insensitive).
pub fn is_common_parameter(name: &str) -> bool {
    common_parameter(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_ups_ignore_case_and_know_only_powershells_parameters() {
        assert_eq!(common_parameter("whatif").map(|p| p.name), Some("WhatIf"));
        assert!(is_common_parameter("ERRORACTION"));
        assert!(is_common_parameter("ProgressAction"));
        for exchange in ["DomainController", "IgnoreDefaultScope", "Identity"] {
            assert!(!is_common_parameter(exchange), "{exchange}");
        }
        let risky: Vec<_> = COMMON_PARAMETERS
            .iter()
            .filter(|p| p.risk_mitigation)
            .map(|p| p.name)
            .collect();
        assert_eq!(risky, ["WhatIf", "Confirm"]);
    }
}
