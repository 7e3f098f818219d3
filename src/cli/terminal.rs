//! The terminal a command talks to while it works: how a plan is shown, and the [`Ui`] that
//! operations report status through and ask for confirmation on.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use ferry::context::Context;
use ferry::ops::pipeline::Planned;
use ferry::ops::Ui;
use ferry::plan::Plan;

use super::prelude::*;

/// How a plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people, coloured on a terminal.
    Text,
    /// For a pull-request comment.
    Markdown,
    /// The saved-plan document.
    Json,
}

/// Prints a plan in the chosen format.
pub fn show(ctx: &Context, plan: &Plan, format: Format) -> Result<()> {
    match format {
        Format::Text => out(&ferry::render::plan::text(plan, colour(ctx))),
        Format::Markdown => out(&ferry::render::plan::markdown(plan)),
        Format::Json => out(&String::from_utf8_lossy(&ferry::plan::file::to_bytes(plan))),
    }
}

/// The terminal an apply talks to.
pub struct Terminal<'c> {
    /// The context (colour).
    pub ctx: &'c Context,
    /// How a plan is shown before it is confirmed.
    pub format: Format,
    /// A failure to print, kept for the end.
    pub failed: Option<CliError>,
}

impl<'c> Terminal<'c> {
    /// A terminal that shows plans as text.
    pub fn new(ctx: &'c Context) -> Terminal<'c> {
        Terminal {
            ctx,
            format: Format::Text,
            failed: None,
        }
    }
}

impl Ui for Terminal<'_> {
    fn status(&mut self, line: &str) {
        eprintln!("{line}");
    }

    fn show_plan(&mut self, planned: &Planned) {
        if let Err(e) = show(self.ctx, &planned.plan, self.format) {
            self.failed.get_or_insert(e);
        }
    }

    fn confirm(&mut self) -> ferry::ops::Result<bool> {
        if !std::io::stdin().is_terminal() {
            return Err(ferry::ops::Error::NoConfirmation);
        }
        eprint!("Apply these changes? Only `yes` is accepted: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|source| ferry::ops::Error::Read {
                path: PathBuf::from("(stdin)"),
                source,
            })?;
        Ok(answer.trim() == "yes")
    }
}
