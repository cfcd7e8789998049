//! `rollcall completions SHELL`: print a completion script.

use clap::CommandFactory;

use super::{Cli, CompletionsArgs};

pub const EXAMPLES: &str = "\
Examples:
  rollcall completions bash > ~/.local/share/bash-completion/completions/rollcall
  rollcall completions zsh > \"${fpath[1]}/_rollcall\"
  rollcall completions fish > ~/.config/fish/completions/rollcall.fish";

pub fn run(args: &CompletionsArgs) -> anyhow::Result<u8> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "rollcall",
        &mut std::io::stdout(),
    );
    Ok(super::exit::OK)
}
