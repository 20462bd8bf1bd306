//! `captain`: the HelmRequest controller's binary. Its `template` command renders a chart exactly
//! as `helm template` does, with Helm's flags; the work happens in `helm-engine`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod template;

#[derive(Parser)]
#[command(name = "captain", about = "Helm v3 charts, natively")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render chart templates locally and print them, as `helm template` does.
    Template(template::TemplateArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "Error: {}",
                e.render().to_string().trim_start_matches("error: ")
            );
            return ExitCode::FAILURE;
        }
    };
    let Command::Template(args) = cli.command;
    match template::run_template(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            ExitCode::FAILURE
        }
    }
}
