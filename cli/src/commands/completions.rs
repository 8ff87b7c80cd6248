//! `cordon completions <shell>`: shell completions for every command and option.
use clap::{Args as ClapArgs, CommandFactory};
use clap_complete::Shell;

use super::Context;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Prints the completions of the CLI `C` for `args.shell` (a closed pipe ends it quietly).
pub fn run<C: CommandFactory>(args: Args, _ctx: &Context) {
    let mut command = C::command();
    let name = command.get_name().to_string();
    let mut buffer = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut buffer);
    let _ = crate::output::print(&String::from_utf8_lossy(&buffer));
}
