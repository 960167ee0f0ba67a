//! The language end to end without a resource forest: scripts run with the
//! shell's own cmdlets, their output as text.

use proptest::prelude::*;

use super::display::render;
use super::eval::{Frame, Halt, Runtime};
use super::{compile, parse_script};
use crate::output::{Format, View};
use crate::shell::Ended;

/// Runs `text` offline; returns its output (JSON lines) and its messages.
fn run(text: &str) -> (String, String) {
    let script = compile(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut rt = Runtime::default();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for statement in &script.statements {
        let mut host = Vec::new();
        let mut frame = Frame {
            rt: &mut rt,
            session: None,
            text,
            out: &mut host,
            err: &mut err,
            ended: Ended::Succeeded,
            view: View::Auto,
            opened_statement: false,
        };
        let values = match runtime.block_on(frame.statement(statement)) {
            Ok(values) => values,
            Err(Halt::Io(e)) => panic!("{e}"),
            Err(_) => break,
        };
        out.extend(host);
        out.extend(render(&values, Format::Jsonl, View::Auto).into_bytes());
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn output(text: &str) -> String {
    let (out, err) = run(text);
    assert_eq!(err, "", "{text}");
    out
}

#[test]
fn variables_members_indexes_arrays_and_hashtables() {
    assert_eq!(output("$x = 1, 2, 3; $x.Count; $x[0]; $x[-1]"), "3\n1\n3\n");
    assert_eq!(output("$x = @(); $x.Count; $x += 'a'; $x.Count"), "0\n1\n");
    assert_eq!(
        output("$h = @{Name = 'dana'; Office = 2}; $h.Name; $h['office']"),
        "\"dana\"\n2\n"
    );
    assert_eq!(
        output("$n = 'dana'; \"Hello $n, $($n.Length) letters\""),
        "\"Hello dana, 4 letters\"\n"
    );
    assert_eq!(
        output("(1, 2, 3).Count; (2 + 3) * 2; 7 / 2; 'a' + 1"),
        "3\n10\n3.5\n\"a1\"\n"
    );
}

#[test]
fn if_and_foreach() {
    let text = "$total = 0; foreach ($n in 1, 2, 3) { $total += $n }; if ($total -gt 5) { 'big' } elseif ($total -gt 1) { 'small' } else { 'none' }";
    assert_eq!(output(text), "\"big\"\n");
    assert_eq!(
        output("if (!$missing) { 'unset' }\nif (-not (1 -eq 1)) { 'no' } else { 'yes' }"),
        "\"unset\"\n\"yes\"\n"
    );
}

#[test]
fn every_comparison_operator() {
    let cases = [
        ("'Dana' -eq 'dana'", "true"),
        ("'Dana' -ceq 'dana'", "false"),
        ("'a' -ne 'b'", "true"),
        ("10 -gt 9", "true"),
        ("'10' -lt 9", "false"),
        ("5 -ge 5", "true"),
        ("5 -le 4", "false"),
        ("'Floor 2' -like 'fl??r*'", "true"),
        ("'Floor 2' -notlike 'F*'", "false"),
        ("'Floor 2' -match '^floor \\d$'", "true"),
        ("'Floor 2' -notmatch 'x'", "true"),
        ("'a','b' -contains 'B'", "true"),
        ("'a','b' -notcontains 'a'", "false"),
        ("'b' -in 'a','b'", "true"),
        ("'c' -notin 'a','b'", "true"),
        ("$true -and $false -or $true", "true"),
        ("!$true", "false"),
    ];
    for (expr, expected) in cases {
        assert_eq!(output(expr), format!("{expected}\n"), "{expr}");
    }
    assert_eq!(output("(1, 2, 3, 2) -eq 2"), "2\n2\n");
}

#[test]
fn where_object_foreach_object_and_aliases() {
    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        csv.path(),
        "Name,Office,Quota\ndana,Floor 2,10\nerin,Floor 3,5\nfrank,,7\n",
    )
    .unwrap();
    let people = format!("$p = Import-Csv '{}'; ", csv.path().display());
    let names = |filter: &str| output(&format!("{people}$p | {filter} | % {{ $_.Name }}"));
    assert_eq!(names("Where-Object { $_.Office }"), "\"dana\"\n\"erin\"\n");
    assert_eq!(names("? { -not $_.Office }"), "\"frank\"\n");
    assert_eq!(names("where Quota -gt 6"), "\"dana\"\n\"frank\"\n");
    assert_eq!(
        names("Where-Object Name -in 'erin','frank'"),
        "\"erin\"\n\"frank\"\n"
    );
    assert_eq!(
        names("Where-Object Name -notin 'erin','frank'"),
        "\"dana\"\n"
    );
    assert_eq!(names("Where-Object -Not Office"), "\"frank\"\n");
    assert_eq!(
        names("Where-Object { $_.Name -like 'd*' -or $_.Quota -eq 5 }"),
        "\"dana\"\n\"erin\"\n"
    );
    assert_eq!(
        output(&format!("{people}$p | ForEach-Object Name")),
        "\"dana\"\n\"erin\"\n\"frank\"\n"
    );
    assert_eq!(
        output(&format!("{people}$p | ForEach-Object -Begin {{ 'start' }} -Process {{ $_.Quota }} -End {{ 'done' }}")),
        "\"start\"\n\"10\"\n\"5\"\n\"7\"\n\"done\"\n"
    );
    assert_eq!(
        output(&format!(
            "{people}($p | Measure-Object Quota -Sum -Average -Maximum -Minimum).Sum"
        )),
        "22\n"
    );
    let measured = output(&format!("{people}$p | measure -Property Quota -Maximum -Minimum | Select-Object Count, Maximum, Minimum"));
    assert_eq!(measured, "{\"Count\":3,\"Maximum\":10,\"Minimum\":5}\n");
}

#[test]
fn sort_group_and_select() {
    let csv = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        csv.path(),
        "Name,City,Quota\ndana,Sales,10\nerin,Sales,5\nfrank,Seattle,7\ngus,Seattle,7\n",
    )
    .unwrap();
    let p = format!("$p = Import-Csv '{}'; ", csv.path().display());
    let run = |rest: &str| output(&format!("{p}{rest}"));
    assert_eq!(
        run("$p | Sort-Object Quota, Name -Descending | select -ExpandProperty Name"),
        "\"dana\"\n\"gus\"\n\"frank\"\n\"erin\"\n"
    );
    assert_eq!(
        run("$p | sort Quota -Unique | Select-Object -ExpandProperty Quota"),
        "\"5\"\n\"7\"\n\"10\"\n"
    );
    assert_eq!(
        run("$p | Select-Object -First 1 -Skip 1 -ExpandProperty Name"),
        "\"erin\"\n"
    );
    assert_eq!(
        run("$p | Select-Object -Last 2 -ExpandProperty Name"),
        "\"frank\"\n\"gus\"\n"
    );
    assert_eq!(
        run("$p.City | Select-Object -Unique"),
        "\"Sales\"\n\"Seattle\"\n"
    );
    assert_eq!(
        run("$p | Select-Object -First 1 Name, @{n='Mail'; e={ \"$($_.Name)@contoso.com\" }}, @{Name='Q'; Expression='Quota'}"),
        "{\"Name\":\"dana\",\"Mail\":\"dana@contoso.com\",\"Q\":\"10\"}\n"
    );
    assert_eq!(
        run("$p | Group-Object City | % { \"$($_.Name)=$($_.Count)\" }"),
        "\"Sales=2\"\n\"Seattle=2\"\n"
    );
    assert_eq!(
        run("$p | group { $_.Quota -gt 6 } -NoElement | % Name"),
        "\"True\"\n\"False\"\n"
    );
    assert_eq!(
        run("$p | ft Name -AutoSize -Wrap | % Name"),
        "\"dana\"\n\"erin\"\n\"frank\"\n\"gus\"\n"
    );
    assert_eq!(
        run("$p | fw | Select-Object -First 1"),
        "{\"Name\":\"dana\"}\n"
    );
}

#[test]
fn csv_json_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let text = format!(
        "@{{Name='dana'; Quota=2}}, @{{Name='erin'; Quota=3}} | Export-Csv '{0}' -NoTypeInformation; Import-Csv '{0}' | ConvertTo-Json -Compress",
        path("a.csv")
    );
    assert_eq!(output(&text), "\"[{\\\"Name\\\":\\\"dana\\\",\\\"Quota\\\":\\\"2\\\"},{\\\"Name\\\":\\\"erin\\\",\\\"Quota\\\":\\\"3\\\"}]\"\n");
    assert_eq!(
        output("('[{\"Name\":\"x\",\"N\":1}]' | ConvertFrom-Json).N"),
        "1\n"
    );
    output(&format!(
        "'one', 'two' | Out-File '{0}'; 'three' | Out-File '{0}' -Append",
        path("o.txt")
    ));
    assert_eq!(
        std::fs::read_to_string(path("o.txt")).unwrap(),
        "one\ntwo\nthree\n"
    );
    let (_, err) = run("Import-Csv /nonexistent/x.csv");
    assert!(err.contains("ERROR: reading /nonexistent/x.csv"), "{err}");
}

#[test]
fn tee_object_passes_on_and_keeps_a_copy_and_get_member_lists_properties() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.txt").display().to_string();
    assert_eq!(
        output(&format!(
            "'a', 'b' | Tee-Object '{file}' | % {{ \"$_!\" }}; 'c' | tee -FilePath '{file}' -Append | Out-Null"
        )),
        "\"a!\"\n\"b!\"\n"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "a\nb\nc\n");
    assert_eq!(
        output("1, 2, 3 | Tee-Object -Variable seen | Measure-Object | % Count; $seen.Count"),
        "3\n3\n"
    );
    let (_, err) = run("1 | Tee-Object");
    assert!(
        err.contains("needs one of -FilePath and -Variable"),
        "{err}"
    );

    assert_eq!(
        output(
            "@{Name='dana'; Office=2} | Select-Object Name, Office | Get-Member | % { \"$($_.Name) $($_.MemberType) $($_.Definition)\" }"
        ),
        "\"Name NoteProperty string Name=dana\"\n\"Office NoteProperty long Office=2\"\n"
    );
    assert_eq!(
        output("@{Name='dana'; Office=2} | Select-Object Name, Office | gm Off* | % Name"),
        "\"Office\"\n"
    );
    let (_, err) = run("@() | Get-Member");
    assert!(err.contains("Get-Member needs objects"), "{err}");
}

#[test]
fn write_host_write_output_get_date_and_common_parameters() {
    assert_eq!(
        output("Write-Host 'to the console'; Write-Output 1, 2"),
        "to the console\n1\n2\n"
    );
    assert_eq!(output("(Get-Date -Format yyyy).Length"), "4\n");
}

#[test]
fn out_and_error_variables() {
    assert_eq!(
        output("3, 1 | Sort-Object -OutVariable s; $s[0]; $s.Count"),
        "1\n3\n1\n2\n"
    );
    let (out, err) =
        run("'x' | Measure-Object -Sum -ErrorVariable e -ErrorAction SilentlyContinue; $e.Count");
    assert_eq!((out.as_str(), err.as_str()), ("0\n", ""));
}

#[test]
fn unsupported_constructs_say_so_at_their_column() {
    let cases = [
        (
            "while ($true) { }",
            1,
            "`while` is not supported by this shell",
        ),
        ("$x = [int]'5'", 6, "`[type]` is not supported"),
        ("'a' -replace 'a', 'b'", 5, "`-replace` is not supported"),
        ("$x.ToUpper()", 4, "calling a method"),
        ("$x.Name = 'y'", 1, "assigning to a property"),
        (
            "Get-Mailbox | Out-GridView",
            15,
            "`Out-GridView` is not supported by this shell",
        ),
        ("& 'x'", 1, "`&` is not supported"),
        ("Get-Mailbox |", 13, "empty pipe element"),
        ("Get-Mailbox | 'x'", 15, "only allowed as the first element"),
        ("$x = ", 6, "needs a value"),
        ("@{a = 1", 1, "no closing }"),
        ("foreach ($x of 1) { }", 13, "expected `in`"),
    ];
    crate::lang::parser::expect_errors(compile, &cases);
}

fn reparsed(text: &str) -> String {
    parse_script(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_string()
}

#[test]
fn written_back_scripts_parse_to_the_same_tree() {
    for text in [
        "$x = Get-Mailbox -ResultSize 5 d*; $x.Count",
        "Get-Mailbox | Sort-Object Name -Descending | Select-Object -First 2 -ExpandProperty Name",
        "Import-Csv new-users.csv | New-Mailbox -ea 0 -ErrorVariable +bad",
        "foreach ($m in @(Get-Mailbox)) { if ($m.Office -notin 'a','b') { Set-Mailbox $m -Office \"Floor $($m.Name)\" } else { 'skip' } }",
        "Get-Mailbox | % { $_.Name } | ? { !$_ -or $_ -like 'd*' }",
        "$h = @{ Name = 'x'; 'Display Name' = 1.5; Roles = 'a', 'b' }; New-RoleGroup @h",
        "New-ManagementScope -Name x -RecipientRestrictionFilter {City -eq 'Seattle'} -Exclusive:$true",
    ] {
        let once = reparsed(text);
        assert_eq!(reparsed(&once), once, "{text}");
    }
}

fn expr_strategy() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0i64..1000).prop_map(|n| n.to_string()),
        "[a-z ']{0,6}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        "[a-z]{1,4}".prop_map(|s| format!("${s}")),
        "[a-z]{1,4}".prop_map(|s| format!("$_.{s}")),
        Just("$true".to_owned()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let op = proptest::sample::select(vec![
            "-eq",
            "-ne",
            "-like",
            "-notin",
            "-contains",
            "-and",
            "-or",
            "+",
            "-cmatch",
        ]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            inner.clone().prop_map(|a| format!("-not {a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("@({a}; {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}, {b}")),
            inner.clone().prop_map(|a| format!("@{{ k = {a} }}")),
            inner.clone().prop_map(|a| format!("\"x $({a}) y\"")),
            inner.prop_map(|a| format!("({a})[0]")),
        ]
    })
}

proptest! {
    #[test]
    fn scripts_round_trip_through_their_written_form(a in expr_strategy(), b in expr_strategy()) {
        for text in [
            format!("$v = {a}; Get-Mailbox | Where-Object {{ {b} }} | % {{ {a} }}"),
            format!("if ({a}) {{ Set-Mailbox -Office {b} }} else {{ foreach ($i in {b}) {{ $i }} }}"),
        ] {
            let once = reparsed(&text);
            prop_assert_eq!(reparsed(&once), once.clone(), "{}", text);
        }
    }

    #[test]
    fn the_parser_never_panics(text in "\\PC{0,80}") {
        let _ = compile(&text);
    }
}

#[test]
fn out_null_discards_what_it_is_given() {
    assert_eq!(output("1, 2, 3 | Out-Null; 'after'"), "\"after\"\n");
    assert_eq!(output("$x = 1, 2 | Out-Null; $x.Count"), "0\n");
}
