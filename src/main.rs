//! The `discord-frame` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use discord_frame::cli::{self, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Render(args)) => match cli::run_render(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // One line, in plain words: "cannot show x.jpg: this is a HEIC image, ...".
                eprintln!("discord-frame: {e:#}");
                ExitCode::FAILURE
            }
        },
        None => {
            // The frame itself (display, library, HTTP, Discord) is not built yet: say so, and
            // show what is there.
            eprintln!("discord-frame: the frame itself is not built yet; `render` works today.\n");
            let _ = Cli::command().print_help();
            ExitCode::SUCCESS
        }
    }
}
