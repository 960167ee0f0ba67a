//! What a change is called when PowerShell asks before making it, or says
//! what it would do (`ShouldProcess`): `Removing mailbox "hank"`. The
//! resource forest's `-WhatIf` and the shell's confirmation prompt both say
//! it in these words.

/// The action of `cmdlet` on `target`: the verb as a gerund and the noun in
/// words, as in `Removing management role assignment "X"`.
pub fn action(cmdlet: &str, target: Option<&str>) -> String {
    let (verb, noun) = cmdlet.split_once('-').unwrap_or((cmdlet, ""));
    let doing = match verb.to_ascii_lowercase().as_str() {
        "new" => "Creating".to_owned(),
        "set" => "Setting".to_owned(),
        "get" => "Getting".to_owned(),
        _ => {
            let stem = verb.strip_suffix('e').unwrap_or(verb);
            format!("{stem}ing")
        }
    };
    let words = words(noun);
    let mut text = if words.is_empty() {
        doing
    } else {
        format!("{doing} {words}")
    };
    if let Some(target) = target.filter(|t| !t.is_empty()) {
        text.push_str(&format!(" \"{target}\""));
    }
    text
}

/// `ManagementRoleAssignment` as `management role assignment`; a run of
/// capitals stays a word (`ADUser` is `AD user`).
fn words(noun: &str) -> String {
    let chars: Vec<char> = noun.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let prev_lower = i > 0 && chars[i - 1].is_lowercase();
        if c.is_uppercase() && !word.is_empty() && (prev_lower || next_lower) {
            out.push(std::mem::take(&mut word));
        }
        word.push(*c);
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.iter()
        .map(|w| {
            if w.chars().filter(|c| c.is_uppercase()).count() > 1 {
                w.clone()
            } else {
                w.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::action;

    #[test]
    fn actions_read_as_powershell_says_them() {
        assert_eq!(
            action("Remove-Mailbox", Some("contoso.com/Users/hank")),
            "Removing mailbox \"contoso.com/Users/hank\""
        );
        assert_eq!(
            action("Remove-ManagementRoleAssignment", Some("X")),
            "Removing management role assignment \"X\""
        );
        assert_eq!(action("Set-Mailbox", None), "Setting mailbox");
        assert_eq!(action("New-ADUser", Some("u")), "Creating AD user \"u\"");
        assert_eq!(
            action("Disable-Mailbox", Some("a")),
            "Disabling mailbox \"a\""
        );
        assert_eq!(
            action("Update-RoleGroupMember", Some("g")),
            "Updating role group member \"g\""
        );
        assert_eq!(
            action("Add-DistributionGroupMember", Some("g")),
            "Adding distribution group member \"g\""
        );
    }
}
