//! The `discord-frame` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use discord_frame::cli::{self, Cli, Command};
use discord_frame::frame::{self, Settings};

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
        Some(Command::CheckConfig) => match Settings::resolve(&cli.run) {
            Ok(settings) => {
                match &settings.config_path {
                    Some(path) => println!("# read from {}", path.display()),
                    None => println!("# no config file: defaults"),
                }
                println!("# data directory: {}", settings.data_dir.display());
                let token = if settings.discord_token.is_some() { "set" } else { "not set" };
                println!("# Discord token: {token}\n");
                print!("{}", settings.config.to_redacted_toml());
                ExitCode::SUCCESS
            }
            Err(e) => bad_config(&e),
        },
        None => {
            let settings = match Settings::resolve(&cli.run) {
                Ok(s) => s,
                Err(e) => return bad_config(&e),
            };
            if let Err(e) = frame::init_logging(&settings) {
                eprintln!("discord-frame: {e:#}");
                return ExitCode::from(2);
            }
            match frame::run(settings) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("discord-frame: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Bad configuration or arguments: exit 2, naming the key and the fix.
fn bad_config(e: &discord_frame::config::ConfigError) -> ExitCode {
    eprintln!("discord-frame: bad configuration: {e}");
    ExitCode::from(2)
}
