//! `ferry completions SHELL`: the shell completion script, made by clap_complete from the same
//! argument definitions the parser uses, so it offers every command and flag there is.

use super::prelude::*;

/// Print the shell completion script for SHELL.
///
/// Load it in the running shell, or install it where the shell looks:
///
///   bash:        source <(ferry completions bash)       (or > ~/.local/share/bash-completion/completions/ferry)
///   zsh:         ferry completions zsh > ~/.zfunc/_ferry (a folder on $fpath, before compinit)
///   fish:        ferry completions fish > ~/.config/fish/completions/ferry.fish
///   PowerShell:  ferry completions powershell | Out-String | Invoke-Expression   (in $PROFILE)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn run(args: Args, mut command: clap::Command) -> Result {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ferry", &mut script);
    out(&String::from_utf8_lossy(&script))?;
    Ok(Success::Done)
}
