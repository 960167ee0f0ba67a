//! Tables as the Exchange Management Shell prints them: a header, a line of
//! dashes under each name, a row per object; columns as wide as their
//! content (in display width: a CJK character takes two columns), narrowed
//! to the terminal's width only when they must be, cut with `...`.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Row, Table};
use crossforest_shared::proto::management::v1 as pb;

/// The width when it can't be told: output to a file or a pipe, and no
/// `COLUMNS`.
pub const FALLBACK_WIDTH: u16 = 120;

/// The width to lay tables out in: the terminal's, else `COLUMNS`, else
/// [`FALLBACK_WIDTH`].
pub fn terminal_width() -> u16 {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size() {
        return w;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|w| *w > 0)
        .unwrap_or(FALLBACK_WIDTH)
}

/// The text of `name` in `record`; empty when it has no such property.
pub(super) fn value<'r>(record: &'r pb::Record, name: &str) -> &'r str {
    record
        .properties
        .iter()
        .find(|p| p.name == name)
        .map_or("", |p| p.value.as_str())
}

/// One line per cell: a value's line breaks would break the table.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// `records` as a table of the columns `names`, `width` columns wide.
pub fn table(records: &[pb::Record], names: &[&str], width: u16) -> String {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_truncation_indicator("...")
        .set_width(width);
    let mut header = Row::from(names.iter().map(|n| (*n).to_owned()));
    header.max_height(1);
    table.add_row(header);
    let mut dashes = Row::from(names.iter().map(|n| "-".repeat(n.chars().count())));
    dashes.max_height(1);
    table.add_row(dashes);
    for record in records {
        let mut row = Row::from(names.iter().map(|n| one_line(value(record, n))));
        row.max_height(1);
        table.add_row(row);
    }
    let last = names.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, u16::from(i != last)));
    }
    table
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}
