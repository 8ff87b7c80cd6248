//! Aligned columns that fit a width: optional columns are cut (with `…`) first, widest
//! first, then the others, never below their minimum; if even the minimums do not fit,
//! optional columns go, rightmost first, and what that frees goes back to the columns
//! cut. Without a width, lines are whole.
use super::text::{truncate, width};

/// One column.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: &'static str,
    /// Never cut below this many characters.
    pub min: usize,
    /// May be left out when even the minimums do not fit.
    pub optional: bool,
}

impl Column {
    /// A column that shrinks to `min`.
    pub fn new(header: &'static str, min: usize) -> Self {
        Self {
            header,
            min,
            optional: false,
        }
    }

    /// A column left out first on a narrow terminal.
    pub fn optional(header: &'static str, min: usize) -> Self {
        Self {
            header,
            min,
            optional: true,
        }
    }
}

/// A table to render.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
}

const GAP: &str = "  ";

impl Table {
    pub fn new(columns: Vec<Column>) -> Self {
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as lines (each ending in `\n`), fitting `max_width` when given.
    pub fn render(&self, max_width: Option<usize>) -> String {
        let mut shown: Vec<usize> = (0..self.columns.len()).collect();
        let natural: Vec<usize> = (0..self.columns.len())
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r.get(c).map(|v| width(v)).unwrap_or(0))
                    .chain([width(self.columns[c].header)])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut widths = natural.clone();
        if let Some(max) = max_width {
            let total = |shown: &[usize], widths: &[usize]| {
                shown.iter().map(|&c| widths[c]).sum::<usize>()
                    + GAP.len() * shown.len().saturating_sub(1)
            };
            loop {
                let over = total(&shown, &widths).saturating_sub(max);
                if over == 0 {
                    break;
                }
                let widest = |optional: bool| {
                    shown
                        .iter()
                        .copied()
                        .filter(|&c| self.columns[c].optional == optional)
                        .filter(|&c| widths[c] > self.columns[c].min.max(1))
                        .max_by_key(|&c| (widths[c], std::cmp::Reverse(c)))
                };
                // Optional columns shrink first, then the others, never below their
                // minimum; then optional columns go, rightmost first.
                if let Some(c) = widest(true).or_else(|| widest(false)) {
                    widths[c] = widths[c]
                        .saturating_sub(over)
                        .max(self.columns[c].min.max(1));
                } else if let Some(i) = shown.iter().rposition(|&c| self.columns[c].optional) {
                    shown.remove(i);
                } else {
                    break;
                }
            }
            // What leaving columns out freed goes back to the columns cut, left first.
            let mut spare = max.saturating_sub(total(&shown, &widths));
            for &c in &shown {
                let grow = natural[c].saturating_sub(widths[c]).min(spare);
                widths[c] += grow;
                spare -= grow;
            }
        }
        let mut out = String::new();
        let mut line = |cells: Vec<String>| {
            let mut text = String::new();
            for (i, (&c, cell)) in shown.iter().zip(cells).enumerate() {
                let cell = truncate(&cell, widths[c]);
                if i + 1 == shown.len() {
                    text.push_str(&cell);
                } else {
                    text.push_str(&cell);
                    text.push_str(&" ".repeat(widths[c] - width(&cell)));
                    text.push_str(GAP);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(
            shown
                .iter()
                .map(|&c| self.columns[c].header.to_string())
                .collect(),
        );
        for row in &self.rows {
            line(
                shown
                    .iter()
                    .map(|&c| row.get(c).cloned().unwrap_or_default())
                    .collect(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(vec![
            Column::new("ID", 10),
            Column::new("STATUS", 6),
            Column::optional("RULE", 8),
            Column::new("PRINCIPAL", 8),
        ]);
        t.push(vec![
            "ct-0123456789abcdef".into(),
            "CONTAINED".into(),
            "iam.user-created".into(),
            "arn:aws:iam::123456789012:user/support-admin".into(),
        ]);
        t
    }

    #[test]
    fn whole_lines_without_a_width() {
        assert_eq!(
            sample().render(None),
            "ID                   STATUS     RULE              PRINCIPAL\n\
             ct-0123456789abcdef  CONTAINED  iam.user-created  arn:aws:iam::123456789012:user/support-admin\n"
        );
    }

    #[test]
    fn the_widest_column_shrinks_first() {
        let text = sample().render(Some(80));
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(text.contains("ct-0123456789abcdef"), "{text}");
        // The optional RULE is cut to its minimum first, then the widest other column.
        assert!(text.contains("  iam.use…  "), "{text}");
        assert!(
            text.contains("arn:aws:iam::123456789012:user/suppor…"),
            "{text}"
        );
    }

    #[test]
    fn optional_columns_go_when_minimums_do_not_fit() {
        let text = sample().render(Some(40));
        assert!(text.contains("RULE"), "the minimums fit: {text}");
        let text = sample().render(Some(30));
        assert!(!text.contains("RULE"), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 30, "{line:?}");
        }
    }
}
