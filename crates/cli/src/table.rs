//! Aligned tables with optional colour.
//!
//! Cells are padded first and styled after, so escape codes never upset the alignment; the
//! output goes through `anstream`, which drops the styles when stdout is not a terminal or
//! `NO_COLOR` is set.

use anstyle::{AnsiColor, Style};
use std::io::Write;

/// The styles the command uses.
pub mod style {
    use super::*;
    /// Column headers.
    pub const HEADER: Style = Style::new().bold().underline();
    /// What is in use.
    pub const GOOD: Style = AnsiColor::Green.on_default();
    /// What is stale.
    pub const STALE: Style = AnsiColor::Yellow.on_default();
    /// What is broken or removed.
    pub const BAD: Style = AnsiColor::Red.on_default().bold();
    /// Hashes and other secondary detail.
    pub const DIM: Style = Style::new().dimmed();
    /// Function names.
    pub const NAME: Style = Style::new().bold();
    /// No style.
    pub const PLAIN: Style = Style::new();
}

/// One cell: text, style, and whether it aligns right (numbers).
#[derive(Clone, Debug)]
pub struct Cell {
    text: String,
    style: Style,
    right: bool,
}

impl Cell {
    /// Left-aligned plain text.
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            style: Style::new(),
            right: false,
        }
    }

    /// Right-aligned (a number or size).
    pub fn num(text: impl Into<String>) -> Self {
        Cell {
            right: true,
            ..Cell::new(text)
        }
    }

    /// With a style.
    pub fn styled(mut self, style: Style) -> Self {
        self.style = style;
        self
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}

/// Rows under a header.
#[derive(Debug)]
pub struct Table {
    header: Vec<Cell>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with these column names; columns named with a leading `>` align right.
    pub fn new(columns: &[&str]) -> Self {
        let header = columns
            .iter()
            .map(|c| match c.strip_prefix('>') {
                Some(c) => Cell::num(c),
                None => Cell::new(*c),
            })
            .map(|c| c.styled(style::HEADER))
            .collect();
        Table {
            header,
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the table with two spaces between columns.
    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|c| c.text.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.text.chars().count());
            }
        }
        let right: Vec<bool> = self.header.iter().map(|c| c.right).collect();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                let pad = widths[i] - cell.text.chars().count();
                let last = i + 1 == columns;
                let (left_pad, right_pad) = if right[i] {
                    (pad, 0)
                } else if last {
                    (0, 0)
                } else {
                    (0, pad)
                };
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(&" ".repeat(left_pad));
                line.push_str(&format!(
                    "{}{}{}",
                    cell.style.render(),
                    cell.text,
                    cell.style.render_reset()
                ));
                line.push_str(&" ".repeat(right_pad));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}
