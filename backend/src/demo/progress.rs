//! Sync progress for a person watching: on a terminal, one bar per Holded
//! scan redrawn in place; otherwise (a pipe, a log file) plain lines.

use std::{
    io::{IsTerminal, Write},
    sync::atomic::{AtomicBool, Ordering},
};

use super::summary::kind_label;
use crate::sync::{KindReport, Progress};

/// Width of a progress bar, in characters.
const BAR_WIDTH: usize = 30;

/// How many records each Holded scan will read (the demo seeded them).
#[derive(Clone, Copy, Debug)]
pub struct ScanTotals {
    /// Contacts (persons and companies share one scan).
    pub contacts: usize,
    /// Products.
    pub products: usize,
    /// Documents of every type.
    pub documents: usize,
}

/// Prints the sync's progress to standard output.
pub struct TerminalProgress {
    totals: ScanTotals,
    terminal: bool,
    bar_drawn: AtomicBool,
}

impl TerminalProgress {
    /// Progress against `totals`; bars when standard output is a terminal.
    pub fn new(totals: ScanTotals) -> Self {
        Self {
            totals,
            terminal: std::io::stdout().is_terminal(),
            bar_drawn: AtomicBool::new(false),
        }
    }

    /// What a scan reads, in Spanish and in English, and how many records it
    /// will read.
    fn scan(&self, kind: &str) -> (&'static str, &'static str, usize) {
        match kind {
            "contacts" => (
                "contactos y empresas",
                "contacts and companies",
                self.totals.contacts,
            ),
            "products" => ("productos", "products", self.totals.products),
            _ => ("documentos", "documents", self.totals.documents),
        }
    }
}

/// `[█████░░░░░]` for `done` of `total`.
fn bar(done: usize, total: usize) -> String {
    let filled = (done * BAR_WIDTH).checked_div(total).unwrap_or(BAR_WIDTH);
    let filled = filled.min(BAR_WIDTH);
    format!("[{}{}]", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled))
}

impl Progress for TerminalProgress {
    fn page(&self, kind: &str, scanned: usize) {
        let (spanish, english, total) = self.scan(kind);
        if self.terminal {
            let mut out = std::io::stdout().lock();
            let _ = write!(
                out,
                "\r   {spanish:<20} {} {scanned:>4}/{total}",
                bar(scanned, total)
            );
            let _ = out.flush();
            self.bar_drawn.store(true, Ordering::Relaxed);
        } else {
            println!(
                "   {spanish}: {scanned}/{total} leídos de Holded ({english}: read from Holded)"
            );
        }
    }

    fn kind_done(&self, report: &KindReport) {
        if self.bar_drawn.swap(false, Ordering::Relaxed) {
            println!();
        }
        println!(
            "   ✔ {}: {} creados, {} actualizados, {} sin cambios, {} con error (created, updated, unchanged, failed)",
            kind_label(report.kind),
            report.created,
            report.updated,
            report.unchanged,
            report.failed
        );
    }
}

#[cfg(test)]
mod tests {
    use super::bar;

    #[test]
    fn bars_fill_in_proportion_and_never_overflow() {
        assert_eq!(bar(0, 10), format!("[{}]", "░".repeat(30)));
        assert_eq!(
            bar(5, 10),
            format!("[{}{}]", "█".repeat(15), "░".repeat(15))
        );
        assert_eq!(bar(12, 10), format!("[{}]", "█".repeat(30)));
        assert_eq!(bar(0, 0), format!("[{}]", "█".repeat(30)));
    }
}
