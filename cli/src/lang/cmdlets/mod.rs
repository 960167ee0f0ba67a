//! The cmdlets the shell runs itself (PowerShell's utility cmdlets, on the
//! objects piped to them), their aliases, and how their arguments bind.
//! Every other command is a cmdlet of the resource forest.

pub mod csv;
pub mod date;
pub mod json;
pub mod measure;
pub mod member;
pub mod select;
pub mod sort;

use resource_forest::cmdlets::parameters::Kind;
use resource_forest::cmdlets::registry;

use super::values::Val;

/// A cmdlet the shell runs itself.
#[derive(Debug, Clone, Copy)]
pub struct ShellCmdlet {
    /// Name.
    pub name: &'static str,
    /// Aliases, as PowerShell's.
    pub aliases: &'static [&'static str],
    /// Parameters, positional ones first in their order.
    pub parameters: &'static [&'static str],
    /// How many of `parameters` bind positionally.
    pub positional: usize,
    /// The parameters that are switches.
    pub switches: &'static [&'static str],
    /// Whether it works on piped input only.
    pub needs_input: bool,
    /// What it does.
    pub synopsis: &'static str,
    /// How it is called.
    pub syntax: &'static str,
}

const fn cmdlet(name: &'static str, synopsis: &'static str, syntax: &'static str) -> ShellCmdlet {
    ShellCmdlet {
        name,
        aliases: &[],
        parameters: &[],
        positional: 0,
        switches: &[],
        needs_input: false,
        synopsis,
        syntax,
    }
}

impl ShellCmdlet {
    const fn aliases(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }

    /// Its parameters, the first `positional` of them positional.
    const fn takes(self, parameters: &'static [&'static str], positional: usize) -> Self {
        Self {
            parameters,
            positional,
            ..self
        }
    }

    const fn switches(self, switches: &'static [&'static str]) -> Self {
        Self { switches, ..self }
    }

    const fn on_input(self) -> Self {
        Self {
            needs_input: true,
            ..self
        }
    }
}

/// The shell's own cmdlets.
pub const SHELL_CMDLETS: &[ShellCmdlet] = &[
    cmdlet(
        "Where-Object",
        "Keeps the piped objects a condition holds for.",
        "Where-Object { $_.<Property> -eq <value> [-and|-or ...] } | Where-Object <Property> <-eq|-ne|-gt|-lt|-ge|-le|-like|-notlike|-match|-notmatch|-contains|-notcontains|-in|-notin> <value>",
    )
    .aliases(&["where", "?"])
    .takes(&["Property", "Value", "FilterScript", "Not"], 2)
    .switches(&["Not"])
    .on_input(),
    cmdlet(
        "ForEach-Object",
        "Runs a script block for each piped object ($_), or reads one property of each.",
        "ForEach-Object [-Begin <ScriptBlock>] [-Process] <ScriptBlock> [-End <ScriptBlock>] | ForEach-Object <Property>",
    )
    .aliases(&["foreach", "%"])
    .takes(&["Process", "Begin", "End", "MemberName"], 1)
    .on_input(),
    cmdlet(
        "Select-Object",
        "Keeps some properties of the piped objects (or calculated ones), or some of the objects.",
        "Select-Object [[-Property] <Object[]>] [-ExpandProperty <String>] [-First <Int32>] [-Last <Int32>] [-Skip <Int32>] [-Unique]",
    )
    .aliases(&["select"])
    .takes(&["Property", "ExpandProperty", "First", "Last", "Skip", "Unique"], 1)
    .switches(&["Unique"])
    .on_input(),
    cmdlet(
        "Sort-Object",
        "Sorts the piped objects by property values.",
        "Sort-Object [[-Property] <Object[]>] [-Descending] [-Unique]",
    )
    .aliases(&["sort"])
    .takes(&["Property", "Descending", "Unique"], 1)
    .switches(&["Descending", "Unique"])
    .on_input(),
    cmdlet(
        "Measure-Object",
        "Counts the piped objects; sums, averages, maximum and minimum of a property.",
        "Measure-Object [[-Property] <String[]>] [-Sum] [-Average] [-Maximum] [-Minimum]",
    )
    .aliases(&["measure"])
    .takes(&["Property", "Sum", "Average", "Maximum", "Minimum"], 1)
    .switches(&["Sum", "Average", "Maximum", "Minimum"])
    .on_input(),
    cmdlet(
        "Group-Object",
        "Groups the piped objects by property values: Count, Name and Group.",
        "Group-Object [[-Property] <Object[]>] [-NoElement]",
    )
    .aliases(&["group"])
    .takes(&["Property", "NoElement"], 1)
    .switches(&["NoElement"])
    .on_input(),
    cmdlet(
        "Format-Table",
        "Shows the piped objects as one table.",
        "Format-Table [[-Property] <Object[]>] [-AutoSize] [-Wrap]",
    )
    .aliases(&["ft"])
    .takes(&["Property", "AutoSize", "Wrap"], 1)
    .switches(&["AutoSize", "Wrap"])
    .on_input(),
    cmdlet(
        "Format-List",
        "Shows each piped object as a list of properties.",
        "Format-List [[-Property] <Object[]>]",
    )
    .aliases(&["fl"])
    .takes(&["Property"], 1)
    .on_input(),
    cmdlet(
        "Format-Wide",
        "Shows one property of each piped object.",
        "Format-Wide [[-Property] <Object>]",
    )
    .aliases(&["fw"])
    .takes(&["Property"], 1)
    .on_input(),
    cmdlet(
        "Export-Csv",
        "Writes the piped objects to a CSV file, one row each.",
        "Export-Csv [-Path] <String> [-NoTypeInformation] [-Append] [-Delimiter <Char>]",
    )
    .aliases(&["epcsv"])
    .takes(&["Path", "NoTypeInformation", "Append", "Delimiter"], 1)
    .switches(&["NoTypeInformation", "Append"])
    .on_input(),
    cmdlet(
        "Import-Csv",
        "Reads a CSV file: one object per row, its columns as properties (piped to a cmdlet, they bind to the parameters of the same names).",
        "Import-Csv [-Path] <String> [-Delimiter <Char>]",
    )
    .aliases(&["ipcsv"])
    .takes(&["Path", "Delimiter"], 1),
    cmdlet(
        "ConvertTo-Json",
        "Converts the piped objects to JSON text.",
        "ConvertTo-Json [-Depth <Int32>] [-Compress]",
    )
    .takes(&["Depth", "Compress"], 0)
    .switches(&["Compress"])
    .on_input(),
    cmdlet(
        "ConvertFrom-Json",
        "Converts JSON text to objects.",
        "ConvertFrom-Json [-InputObject] <String>",
    )
    .takes(&["InputObject"], 1),
    cmdlet(
        "Out-File",
        "Writes the piped objects to a file, as the shell shows them.",
        "Out-File [-FilePath] <String> [-Append]",
    )
    .takes(&["FilePath", "Append"], 1)
    .switches(&["Append"])
    .on_input(),
    cmdlet(
        "Tee-Object",
        "Passes the piped objects on and also saves them in a file (as the shell shows them) or a variable.",
        "Tee-Object [-FilePath] <String> [-Append] | Tee-Object -Variable <String>",
    )
    .aliases(&["tee"])
    .takes(&["FilePath", "Variable", "Append"], 1)
    .switches(&["Append"])
    .on_input(),
    cmdlet(
        "Get-Member",
        "Lists the properties of the piped objects, by type: Name, MemberType and Definition (type and value).",
        "Get-Member [[-Name] <String[]>]",
    )
    .aliases(&["gm"])
    .takes(&["Name"], 1)
    .on_input(),
    cmdlet(
        "Get-Date",
        "The current date and time (UTC).",
        "Get-Date [-Format <String>]",
    )
    .takes(&["Format"], 0),
    cmdlet(
        "Write-Host",
        "Writes text to the console, not to the pipeline.",
        "Write-Host [[-Object] <Object>]",
    )
    .takes(&["Object"], 1),
    cmdlet(
        "Out-Null",
        "Discards what it is given instead of showing it.",
        "Out-Null [-InputObject <Object>]",
    )
    .takes(&["InputObject"], 0)
    .on_input(),
    cmdlet(
        "Write-Output",
        "Writes objects to the pipeline.",
        "Write-Output [-InputObject] <Object[]>",
    )
    .aliases(&["echo", "write"])
    .takes(&["InputObject"], 1),
];

/// The shell cmdlet `name` or one of its aliases names (case-insensitive).
pub fn shell_cmdlet(name: &str) -> Option<&'static ShellCmdlet> {
    SHELL_CMDLETS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// The common parameters the shell takes itself, with their aliases.
pub const SHELL_COMMON: &[(&str, &[&str])] = &[
    ("ErrorAction", &["ea"]),
    ("ErrorVariable", &["ev"]),
    ("OutVariable", &["ov"]),
    ("WarningAction", &["wa"]),
    ("WarningVariable", &["wv"]),
];

/// Common switches every cmdlet takes (the resource forest's cmdlets get
/// them as given).
pub const COMMON_SWITCHES: &[(&str, &[&str])] = &[
    ("Verbose", &["vb"]),
    ("Debug", &["db"]),
    ("WhatIf", &["wi"]),
    ("Confirm", &["cf"]),
];

fn named_in(list: &[(&'static str, &[&str])], name: &str) -> Option<&'static str> {
    list.iter()
        .find(|(n, aliases)| {
            n.eq_ignore_ascii_case(name) || aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
        .map(|(n, _)| *n)
}

/// The shell-handled common parameter `name` (or alias) names.
pub fn shell_common(name: &str) -> Option<&'static str> {
    named_in(SHELL_COMMON, name)
}

/// The common switch `name` (or alias) names.
pub fn common_switch(name: &str) -> Option<&'static str> {
    named_in(COMMON_SWITCHES, name)
}

/// The parameter of a shell cmdlet `name` abbreviates (PowerShell accepts
/// any unambiguous prefix).
pub fn parameter_of(cmdlet: &ShellCmdlet, name: &str) -> Option<&'static str> {
    if let Some(exact) = cmdlet
        .parameters
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
    {
        return Some(exact);
    }
    let lower = name.to_ascii_lowercase();
    let mut matching = cmdlet
        .parameters
        .iter()
        .filter(|p| p.to_ascii_lowercase().starts_with(&lower));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Whether `-param` of command `command` is a switch (takes no value unless
/// written `-param:value`).
pub fn is_switch(command: &str, param: &str) -> bool {
    if common_switch(param).is_some() {
        return true;
    }
    if let Some(shell) = shell_cmdlet(command) {
        return parameter_of(shell, param).is_some_and(|p| shell.switches.contains(&p));
    }
    registry::find(command)
        .and_then(|c| c.parameter(param))
        .is_some_and(|p| p.kind == Kind::Switch)
}

/// The canonical name of parameter `name` of the resource forest's cmdlet
/// `command`, if it has one.
pub fn server_parameter(command: &str, name: &str) -> Option<&'static str> {
    registry::find(command)?.parameter(name).map(|p| p.name)
}

/// Cmdlets and aliases PowerShell has and this shell does not run.
pub const POWERSHELL_ONLY: &[&str] = &[
    "Get-ChildItem",
    "gci",
    "dir",
    "ls",
    "Get-Content",
    "gc",
    "cat",
    "type",
    "Set-Content",
    "Add-Content",
    "Remove-Item",
    "del",
    "rm",
    "Copy-Item",
    "Move-Item",
    "New-Item",
    "Get-Item",
    "Test-Path",
    "Invoke-Command",
    "icm",
    "Invoke-Expression",
    "iex",
    "Start-Sleep",
    "sleep",
    "Read-Host",
    "Write-Verbose",
    "Write-Warning",
    "Write-Error",
    "Write-Debug",
    "Write-Progress",
    "Compare-Object",
    "diff",
    "Get-Variable",
    "Set-Variable",
    "New-Object",
    "Add-Member",
    "Import-Module",
    "ipmo",
    "Get-Module",
    "Start-Job",
    "Get-Job",
    "Receive-Job",
    "Start-Transcript",
    "Stop-Transcript",
    "Out-String",
    "Out-Host",
    "Out-Null",
    "Out-GridView",
    "ogv",
    "ConvertTo-Html",
    "ConvertTo-Csv",
    "ConvertFrom-Csv",
    "Export-Clixml",
    "Import-Clixml",
    "Get-Credential",
    "Get-Process",
    "ps",
    "Get-Service",
    "Invoke-WebRequest",
    "Invoke-RestMethod",
    "Get-Random",
    "Get-Unique",
    "Clear-Host",
    "cls",
    "clear",
    "Set-Location",
    "cd",
    "Get-Location",
    "pwd",
    "Split-Path",
    "Join-Path",
    "Resolve-Path",
    "Get-History",
    "Measure-Command",
    "Select-String",
    "sls",
];

/// A positional or named value as a count (`-First 2`).
pub fn count_of(value: &Val) -> Option<usize> {
    value
        .as_number()
        .filter(|n| *n >= 0.0 && n.fract() == 0.0)
        .map(|n| n as usize)
}
