//! `ferry man`: the manual pages of ferry and of each of its commands, in roff, made by
//! clap_mangen from the argument definitions (the same text as `--help`).

use std::path::PathBuf;

use super::prelude::*;

/// Print the manual page of ferry and its commands (roff), or write one page per command.
///
/// Without --out-dir the pages of ferry and of every command follow each other on stdout:
/// `ferry man | man -l -` reads them. With --out-dir DIR each is a file of its own (ferry.1,
/// ferry-plan.1, ferry-tenant-init.1, …), for a folder on MANPATH: `ferry man --out-dir
/// ~/.local/share/man/man1`, then `man ferry-plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write one page per command into DIR (made if missing) instead of printing them.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
}

pub fn run(args: Args, command: clap::Command) -> Result {
    let pages = pages(command).map_err(|e| {
        CliError::new(
            Class::Internal,
            format!("cannot render the manual pages: {e}"),
        )
    })?;
    let Some(dir) = args.out_dir else {
        let text: Vec<u8> = pages.into_iter().flat_map(|(_, page)| page).collect();
        out(&String::from_utf8_lossy(&text))?;
        return Ok(Success::Done);
    };
    let failed = |path: &std::path::Path, e: std::io::Error| {
        CliError::new(
            Class::Environment,
            format!("cannot write {}: {e}", path.display()),
        )
        .hint("give --out-dir a folder you can write to")
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed(&dir, e))?;
    let count = pages.len();
    for (name, page) in pages {
        let path = dir.join(name);
        std::fs::write(&path, page).map_err(|e| failed(&path, e))?;
    }
    eprintln!("wrote {count} manual pages into {}", dir.display());
    Ok(Success::Done)
}

/// Every page, ferry's first, then each command's (hidden ones left out), as (file name, roff).
fn pages(command: clap::Command) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(command: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        let man = clap_mangen::Man::new(command.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        out.push((man.get_filename(), page));
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub.clone(), out)?;
        }
        Ok(())
    }
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let mut out = Vec::new();
    walk(command, &mut out)?;
    Ok(out)
}
