//! The `discord-frame` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use discord_frame::cli::{self, Cli, Command};
use discord_frame::frame::{self, Settings};

fn main() -> ExitCode {
    pin_mmap_threshold();
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
        Some(Command::CheckConfig { quiet }) => match Settings::resolve(&cli.run) {
            Ok(_) if quiet => ExitCode::SUCCESS,
            Ok(settings) => {
                match &settings.config_path {
                    Some(path) => println!("# read from {}", path.display()),
                    None => println!("# no config file: defaults"),
                }
                println!("# data directory: {}", settings.data_dir.display());
                let token = match &settings.discord_token {
                    Some(token) => format!("set, from {}", token.source),
                    None => "not set".into(),
                };
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

/// Makes glibc serve every allocation of 1 MiB or more with its own mmap, returned to the
/// system when freed. The frame allocates and frees slide- and photo-sized buffers (8 MB and
/// more) on several threads; by default glibc raises its mmap threshold after the first such
/// free, and later buffers come from per-thread heaps that fragment: measured, ~90 MB resident
/// after 100 uploads at 1080p, against ~46 MB steady with the threshold pinned (BENCHMARKS.md;
/// mimalloc was worse still, ~150 MB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn pin_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; it is called first thing in `main`,
    // before any other thread exists, and a failure (0) only leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn pin_mmap_threshold() {}
