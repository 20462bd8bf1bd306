//! Tables as `lib/table.c` prints them: `table`, `list`, `csv` and `json` output formats, with
//! `string`, `bare` or `json` cells.

use std::cmp::Ordering;

use crate::format::json::{OvsJson, atom_kind, format_real, write_json_string};
use crate::schema::ColumnType;

/// The layout of a printed table (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableFormat {
    /// Aligned columns under a row of dashes (`--format=table`).
    #[default]
    Table,
    /// One `heading : value` line per cell, a blank line between rows (`--format=list`).
    List,
    /// Comma-separated values (`--format=csv`).
    Csv,
    /// One JSON object per table: `{"caption":…,"data":…,"headings":…}` (`--format=json`).
    Json,
    /// An HTML `<table>`, UUIDs linked to the rows they name (`--format=html`).
    Html,
}

impl TableFormat {
    /// Parses the argument of `--format`; `None` for a format this module does not print.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "table" => TableFormat::Table,
            "list" => TableFormat::List,
            "csv" => TableFormat::Csv,
            "json" => TableFormat::Json,
            "html" => TableFormat::Html,
            _ => return None,
        })
    }
}

/// How a datum cell is turned into text (`--data`); the JSON output format ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellFormat {
    /// `[a, "b c"]`, `{k=v}`: the syntax `ovs-vsctl` accepts (`--data=string`).
    #[default]
    String,
    /// Atoms separated by spaces, strings unquoted (`--data=bare`).
    Bare,
    /// The datum's JSON (`--data=json`).
    Json,
}

impl CellFormat {
    /// Parses the argument of `--data`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "string" => CellFormat::String,
            "bare" => CellFormat::Bare,
            "json" => CellFormat::Json,
            _ => return None,
        })
    }
}

/// Everything that decides how tables print: `--format`, `--data`, `--no-headings`,
/// `--pretty`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableStyle {
    /// The layout.
    pub format: TableFormat,
    /// The text of datum cells.
    pub cell_format: CellFormat,
    /// Whether headings are printed (not for JSON, which always has them).
    pub headings: bool,
    /// Whether JSON output (the `json` format, and JSON printed outside tables) is
    /// pretty-printed.
    pub pretty: bool,
}

impl Default for TableStyle {
    fn default() -> Self {
        TableStyle {
            format: TableFormat::Table,
            cell_format: CellFormat::String,
            headings: true,
            pretty: false,
        }
    }
}

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value: empty text, or `null` in JSON.
    Empty,
    /// Literal text, printed as is (a JSON string in JSON output).
    Text(String),
    /// A datum of a column of type `ty`, as JSON; printed per the [`CellFormat`].
    Datum {
        /// The datum's JSON, as [`OvsJson::from_datum`] or [`OvsJson::from_wire_datum`]
        /// made it.
        json: OvsJson,
        /// The column type, which the `string` and `bare` formats need.
        ty: Box<ColumnType>,
    },
}

/// A table: optional caption, headings, and rows of cells (one per heading).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Printed above the table (`"ACL table"` in `dump`), or as `"caption"` in JSON.
    pub caption: Option<String>,
    /// Printed above the caption, or as `"time"` in JSON (`monitor --timestamp`); see
    /// [`timestamp`].
    pub time: Option<String>,
    /// Column headings.
    pub headings: Vec<String>,
    /// Rows; each has one cell per heading (missing trailing cells print as [`Cell::Empty`]).
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these headings and no rows.
    pub fn new(headings: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Table {
            caption: None,
            time: None,
            headings: headings.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    fn cell(&self, row: usize, col: usize) -> &Cell {
        self.rows
            .get(row)
            .and_then(|r| r.get(col))
            .unwrap_or(&Cell::Empty)
    }
}

/// Prints tables one after another like one OVS process does: the text formats put a blank
/// line between consecutive tables, so the printer counts what it printed.
#[derive(Debug, Clone)]
pub struct TablePrinter {
    style: TableStyle,
    printed: usize,
}

impl TablePrinter {
    /// A printer that has printed nothing yet.
    pub fn new(style: TableStyle) -> Self {
        TablePrinter { style, printed: 0 }
    }

    /// The style tables are printed in.
    pub fn style(&self) -> &TableStyle {
        &self.style
    }

    /// The text `table_print` writes to stdout for `table`, newline-terminated.
    pub fn render(&mut self, table: &Table) -> String {
        let first = self.printed == 0;
        self.printed += 1;
        let mut out = String::new();
        if !first && !matches!(self.style.format, TableFormat::Json | TableFormat::Html) {
            out.push('\n');
        }
        match self.style.format {
            TableFormat::Table => self.render_table(table, &mut out),
            TableFormat::List => self.render_list(table, &mut out),
            TableFormat::Csv => self.render_csv(table, &mut out),
            TableFormat::Json => self.render_json(table, &mut out),
            TableFormat::Html => self.render_html(table, &mut out),
        }
        out
    }

    fn caption(table: &Table, out: &mut String) {
        if let Some(t) = &table.time {
            out.push_str(t);
            out.push('\n');
        }
        if let Some(c) = &table.caption {
            out.push_str(c);
            out.push('\n');
        }
    }

    fn texts(&self, table: &Table) -> Vec<Vec<String>> {
        (0..table.rows.len())
            .map(|y| {
                (0..table.headings.len())
                    .map(|x| cell_text(table.cell(y, x), self.style.cell_format))
                    .collect()
            })
            .collect()
    }

    fn render_table(&self, table: &Table, out: &mut String) {
        Self::caption(table, out);
        let texts = self.texts(table);
        // Widths are in bytes, as C's strlen() and printf("%-*s") count them; headings count
        // only when printed.
        let widths: Vec<usize> = table
            .headings
            .iter()
            .enumerate()
            .map(|(x, h)| {
                texts
                    .iter()
                    .map(|row| row[x].len())
                    .chain(self.style.headings.then_some(h.len()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &mut dyn Iterator<Item = String>, out: &mut String| {
            let mut l = String::new();
            for (x, text) in cells.enumerate() {
                if x > 0 {
                    l.push(' ');
                }
                l.push_str(&text);
                l.extend(std::iter::repeat_n(
                    ' ',
                    widths[x].saturating_sub(text.len()),
                ));
            }
            out.push_str(l.trim_end_matches(' '));
            out.push('\n');
        };
        if self.style.headings {
            line(&mut table.headings.iter().cloned(), out);
            line(&mut widths.iter().map(|w| "-".repeat(*w)), out);
        }
        for row in texts {
            line(&mut row.into_iter(), out);
        }
    }

    fn render_list(&self, table: &Table, out: &mut String) {
        Self::caption(table, out);
        for (y, row) in self.texts(table).into_iter().enumerate() {
            if y > 0 {
                out.push('\n');
            }
            for (heading, text) in table.headings.iter().zip(row) {
                if self.style.headings {
                    out.push_str(&format!("{heading:<20}: "));
                }
                out.push_str(&text);
                out.push('\n');
            }
        }
    }

    fn render_csv(&self, table: &Table, out: &mut String) {
        Self::caption(table, out);
        let csv_line = |cells: &mut dyn Iterator<Item = String>, out: &mut String| {
            for (x, text) in cells.enumerate() {
                if x > 0 {
                    out.push(',');
                }
                if text.contains(['\n', '"', ',']) {
                    out.push('"');
                    out.push_str(&text.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(&text);
                }
            }
            out.push('\n');
        };
        if self.style.headings {
            csv_line(&mut table.headings.iter().cloned(), out);
        }
        for row in self.texts(table) {
            csv_line(&mut row.into_iter(), out);
        }
    }

    fn render_html(&self, table: &Table, out: &mut String) {
        if let Some(t) = &table.time {
            out.push_str(t);
            out.push('\n');
        }
        out.push_str("<table border=1>\n");
        if let Some(c) = &table.caption {
            html_cell("caption", c, out);
        }
        if self.style.headings {
            out.push_str("  <tr>\n");
            for h in &table.headings {
                html_cell("th", h, out);
            }
            out.push_str("  </tr>\n");
        }
        for row in self.texts(table) {
            out.push_str("  <tr>\n");
            for (heading, text) in table.headings.iter().zip(row) {
                if heading == "_uuid" {
                    // The row's anchor, which UUIDs elsewhere link to.
                    out.push_str("    <td><a name=\"");
                    html_escape(&text, out);
                    out.push_str("\">");
                    html_escape(prefix_bytes(&text, 8), out);
                    out.push_str("</a></td>\n");
                } else {
                    html_cell("td", &text, out);
                }
            }
            out.push_str("  </tr>\n");
        }
        out.push_str("</table>\n");
    }

    fn render_json(&self, table: &Table, out: &mut String) {
        let mut obj = std::collections::BTreeMap::new();
        if let Some(c) = &table.caption {
            obj.insert("caption".to_owned(), OvsJson::string(c.clone()));
        }
        if let Some(t) = &table.time {
            obj.insert("time".to_owned(), OvsJson::string(t.clone()));
        }
        obj.insert(
            "headings".to_owned(),
            OvsJson::Array(
                table
                    .headings
                    .iter()
                    .cloned()
                    .map(OvsJson::String)
                    .collect(),
            ),
        );
        let data = (0..table.rows.len())
            .map(|y| {
                OvsJson::Array(
                    (0..table.headings.len())
                        .map(|x| match table.cell(y, x) {
                            Cell::Empty => OvsJson::Null,
                            Cell::Text(t) => OvsJson::string(t.clone()),
                            Cell::Datum { json, .. } => json.clone(),
                        })
                        .collect(),
                )
            })
            .collect();
        obj.insert("data".to_owned(), OvsJson::Array(data));
        out.push_str(&OvsJson::Object(obj).to_text(self.style.pretty));
        out.push('\n');
    }
}

/// `<element>content</element>` with HTML escapes, every UUID in the content a link to
/// its row's anchor.
fn html_cell(element: &str, content: &str, out: &mut String) {
    out.push_str(&format!("    <{element}>"));
    let mut rest = content;
    while let Some(c) = rest.chars().next() {
        if let Some(uuid) = rest.get(..36).filter(|u| is_uuid_text(u)) {
            out.push_str(&format!("<a href=\"#{uuid}\">{}</a>", &uuid[..8]));
            rest = &rest[36..];
        } else {
            html_escape(&rest[..c.len_utf8()], out);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(&format!("</{element}>\n"));
}

fn html_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// The first `n` bytes of `s`, or fewer to end on a character boundary.
fn prefix_bytes(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The text of a cell in the text formats (`cell_to_text`): a datum that does not fit its
/// type prints as its JSON.
fn cell_text(cell: &Cell, format: CellFormat) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(t) => t.clone(),
        Cell::Datum { json, ty } => {
            let parsed = match format {
                CellFormat::Json => None,
                _ => DatumAtoms::parse(json, ty),
            };
            match parsed {
                Some(d) if format == CellFormat::Bare => d.to_bare(),
                Some(d) => d.to_string_format(ty),
                None => json.to_text(false),
            }
        }
    }
}

/// A datum's atoms in OVS order, checked against a column type.
struct DatumAtoms {
    is_map: bool,
    pairs: Vec<(OvsJson, Option<OvsJson>)>,
}

impl DatumAtoms {
    /// `ovsdb_datum_from_json` without constraint checks.
    fn parse(json: &OvsJson, ty: &ColumnType) -> Option<Self> {
        let key_ty = ty.key.atomic;
        let value_ty = ty.value.as_ref().map(|v| v.atomic);
        let tagged = |tag: &str| match json {
            OvsJson::Array(a) if a.len() == 2 && a[0] == OvsJson::string(tag) => match &a[1] {
                OvsJson::Array(elems) => Some(elems.clone()),
                _ => None,
            },
            _ => None,
        };
        let mut pairs = Vec::new();
        if let Some(vt) = value_ty {
            for pair in tagged("map")? {
                match pair {
                    OvsJson::Array(kv) if kv.len() == 2 => {
                        pairs.push((atom_kind(&kv[0], key_ty)?, Some(atom_kind(&kv[1], vt)?)))
                    }
                    _ => return None,
                }
            }
        } else if let Some(elems) = tagged("set") {
            for e in elems {
                pairs.push((atom_kind(&e, key_ty)?, None));
            }
        } else {
            pairs.push((atom_kind(json, key_ty)?, None));
        }
        pairs.sort_by(|a, b| compare_atoms(&a.0, &b.0));
        pairs.dedup_by(|a, b| compare_atoms(&a.0, &b.0) == Ordering::Equal);
        Some(DatumAtoms {
            is_map: value_ty.is_some(),
            pairs,
        })
    }

    /// `ovsdb_datum_to_string`.
    fn to_string_format(&self, ty: &ColumnType) -> String {
        let bracket = !matches!(ty.max, crate::schema::Max::Limited(1)) || self.pairs.is_empty();
        let (open, close) = if self.is_map { ('{', '}') } else { ('[', ']') };
        let mut out = String::new();
        if bracket {
            out.push(open);
        }
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            atom_to_string(k, &mut out);
            if let Some(v) = v {
                out.push('=');
                atom_to_string(v, &mut out);
            }
        }
        if bracket {
            out.push(close);
        }
        out
    }

    /// `ovsdb_datum_to_bare`.
    fn to_bare(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            atom_to_bare(k, &mut out);
            if let Some(v) = v {
                out.push('=');
                atom_to_bare(v, &mut out);
            }
        }
        out
    }
}

/// OVS's atom order: numbers by value, false before true, strings and UUIDs bytewise.
fn compare_atoms(a: &OvsJson, b: &OvsJson) -> Ordering {
    match (a, b) {
        (OvsJson::Integer(x), OvsJson::Integer(y)) => x.cmp(y),
        (OvsJson::Real(x), OvsJson::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (OvsJson::Bool(x), OvsJson::Bool(y)) => x.cmp(y),
        (OvsJson::String(x), OvsJson::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (OvsJson::Array(x), OvsJson::Array(y)) => uuid_text(x)
            .unwrap_or("")
            .to_ascii_lowercase()
            .cmp(&uuid_text(y).unwrap_or("").to_ascii_lowercase()),
        _ => Ordering::Equal,
    }
}

fn uuid_text(tagged: &[OvsJson]) -> Option<&str> {
    match tagged.get(1) {
        Some(OvsJson::String(s)) => Some(s),
        _ => None,
    }
}

fn atom_to_string(atom: &OvsJson, out: &mut String) {
    match atom {
        OvsJson::String(s) if string_needs_quotes(s) => write_json_string(out, s),
        other => atom_to_bare(other, out),
    }
}

fn atom_to_bare(atom: &OvsJson, out: &mut String) {
    match atom {
        OvsJson::Integer(i) => out.push_str(&i.to_string()),
        OvsJson::Real(r) => out.push_str(&format_real(*r)),
        OvsJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        OvsJson::String(s) => out.push_str(s),
        OvsJson::Array(a) => out.push_str(&uuid_text(a).unwrap_or("").to_ascii_lowercase()),
        OvsJson::Null | OvsJson::Object(_) => {}
    }
}

/// Whether `ovsdb_atom_to_string` quotes a string: anything but an identifier-like word
/// (letters, digits, `_`, `-`, `.`, not starting with a digit, `-` or `.`), `true`, `false`,
/// and UUIDs.
fn string_needs_quotes(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
        _ => return true,
    }
    if !b[1..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return true;
    }
    s == "true" || s == "false" || is_uuid_text(s)
}

/// True for exactly `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits of either case.
fn is_uuid_text(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A wall-clock time as `table.c` prints it for `--timestamp`: UTC,
/// `YYYY-MM-DD HH:MM:SS.mmm`.
pub fn timestamp(time: std::time::SystemTime) -> String {
    let since_epoch = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian), per Howard Hinnant's
    // days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since_epoch.subsec_millis()
    )
}
