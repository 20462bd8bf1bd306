//! `captain`: the HelmRequest controller's binary. Its `template` command renders a chart exactly
//! as `helm template` does, with Helm's flags; the work happens in `helm-engine`. Its release
//! commands (`get-manifest`, `history`, `rollback`) read and write Helm's own release records
//! through `captain-core`; `upgrade` changes a HelmRequest's chart version and values. Installed as `kubectl-captain`, it is the `kubectl captain` plugin.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

mod releases;
mod template;
mod upgrade;

#[derive(Parser)]
#[command(name = "captain", about = "Helm v3 charts, natively")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render chart templates locally and print them, as `helm template` does.
    Template(Box<template::TemplateArgs>),
    /// Print a release's manifest, as `helm get manifest` does.
    GetManifest(releases::GetManifestArgs),
    /// Print a release's revisions, as `helm history` does.
    History(releases::HistoryArgs),
    /// Roll a release back to an earlier revision, as `helm rollback` does.
    Rollback(releases::RollbackArgs),
    /// Change a HelmRequest's chart version and values; the controller upgrades the release.
    Upgrade(upgrade::UpgradeArgs),
    /// Run the HelmRequest and ChartRepo controller (in-cluster config or kubeconfig).
    Controller(captain_core::ControllerOptions),
}

/// The name usage lines show: `kubectl captain` when run as the kubectl plugin.
fn display_name() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let base = std::path::Path::new(&argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base.starts_with("kubectl-captain") {
        "kubectl captain"
    } else {
        "captain"
    }
}

fn main() -> ExitCode {
    // `template` parses its flags as helm's pflag does (clap's rules and messages differ);
    // clap still prints its help.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.get(1).map(String::as_str) == Some("template") && !template::wants_help(&argv[2..]) {
        let result = template::parse_args(&argv[2..]).and_then(template::run_template);
        return finish(result);
    }
    let parsed = Cli::command()
        .name(display_name())
        .bin_name(display_name())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
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
    let result = match cli.command {
        Command::Template(args) => template::run_template(*args),
        Command::GetManifest(args) => releases::get_manifest(args),
        Command::History(args) => releases::history(args),
        Command::Rollback(args) => releases::rollback(args),
        Command::Upgrade(args) => upgrade::upgrade(args),
        Command::Controller(options) => releases::runtime().and_then(|rt| {
            rt.block_on(captain_core::run(options))
                .map(|()| String::new())
                .map_err(|e| e.to_string())
        }),
    };
    finish(result)
}

/// Prints a command's output, or its error as helm does (`Error: ...` on stderr, status 1).
fn finish(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(out) => {
            // Helm writes Go strings as they are: raw bytes (CRDs, files, template text that
            // is not UTF-8) reach stdout unchanged.
            use std::io::Write as _;
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(&helm_engine::value::go_bytes(&out))
                .and_then(|()| stdout.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("Error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            ExitCode::FAILURE
        }
    }
}
