//! `ovsdb-cli`: a drop-in for Open vSwitch's `ovsdb-client` for `list-dbs`, `get-schema`,
//! `list-tables`, `transact`, `monitor` and `dump`, with the same arguments, output and exit
//! status. This file parses the command line; `commands.rs` runs the commands on
//! [`ovsdb_client::Client`], and [`ovsdb_client::format`] prints what `ovsdb-client` prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ovsdb_client::format::{CellFormat, TableFormat, TableStyle};

mod commands;
mod error;

use commands::Options;
use error::CliError;

/// Open vSwitch database JSON-RPC client (a subset of `ovsdb-client`).
///
/// Commands: `list-dbs [SERVER]`, `get-schema [SERVER] [DATABASE]`,
/// `list-tables [SERVER] [DATABASE]`, `transact [SERVER] TRANSACTION`,
/// `monitor [SERVER] [DATABASE] TABLE [COLUMN,...]...` (also `ALL`),
/// `dump [SERVER] [DATABASE] [TABLE [COLUMN]...]`.
/// SERVER is `unix:PATH`, `tcp:IP:PORT` or `ssl:IP:PORT` (comma-separated for a cluster);
/// the default is `unix:$OVS_RUNDIR/db.sock` (`/var/run/openvswitch/db.sock`).
#[derive(Debug, Parser)]
#[command(name = "ovsdb-cli", version)]
struct Cli {
    /// Output format: table, list, csv, html or json.
    #[arg(short = 'f', long = "format", value_name = "FORMAT")]
    format: Option<String>,
    /// Cell format: string, bare or json.
    #[arg(short = 'd', long = "data", value_name = "FORMAT")]
    data: Option<String>,
    /// Omit the table heading row.
    #[arg(long = "no-headings")]
    no_headings: bool,
    /// Pretty-print JSON output.
    #[arg(long)]
    pretty: bool,
    /// Bare output: list format, bare cells, no headings.
    #[arg(long)]
    bare: bool,
    /// Private key file for ssl: servers.
    #[arg(short = 'p', long = "private-key", value_name = "FILE")]
    private_key: Option<PathBuf>,
    /// Certificate file for ssl: servers.
    #[arg(short = 'c', long = "certificate", value_name = "FILE")]
    certificate: Option<PathBuf>,
    /// CA certificate file that signed the servers' certificates.
    #[arg(short = 'C', long = "ca-cert", value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Print the time before each table `monitor` prints ("time" in JSON).
    #[arg(long)]
    timestamp: bool,
    /// With several servers, use only the leader of a clustered database (the default).
    #[arg(long = "leader-only", overrides_with = "no_leader_only")]
    leader_only: bool,
    /// With several servers, accept any server of a clustered database that is connected to
    /// its cluster.
    #[arg(long = "no-leader-only", overrides_with = "leader_only")]
    no_leader_only: bool,
    /// COMMAND [ARG...]
    #[arg(value_name = "COMMAND [ARG]...")]
    args: Vec<String>,
}

impl Cli {
    /// The table style the options select, in `ovsdb-client`'s order of precedence
    /// (`--bare` overrides format, cells and headings).
    fn style(&self) -> Result<TableStyle, CliError> {
        let mut style = TableStyle::default();
        if let Some(f) = &self.format {
            style.format = TableFormat::from_name(f)
                .ok_or_else(|| CliError::Usage(format!("unknown output format \"{f}\"")))?;
        }
        if let Some(d) = &self.data {
            style.cell_format = CellFormat::from_name(d)
                .ok_or_else(|| CliError::Usage(format!("unknown data format \"{d}\"")))?;
        }
        if self.no_headings {
            style.headings = false;
        }
        if self.bare {
            style.format = TableFormat::List;
            style.cell_format = CellFormat::Bare;
            style.headings = false;
        }
        style.pretty = self.pretty;
        Ok(style)
    }
}

/// The name messages start with, as OVS's `set_program_name` derives it from argv[0].
fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "ovsdb-cli".to_owned())
}

fn main() -> ExitCode {
    let program = program_name();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            eprintln!("{program}: {}", first.trim_start_matches("error: "));
            return ExitCode::FAILURE;
        }
    };
    let result = cli.style().and_then(|style| {
        let options = Options {
            style,
            private_key: cli.private_key.clone(),
            certificate: cli.certificate.clone(),
            ca_cert: cli.ca_cert.clone(),
            program: program.clone(),
            leader_only: !cli.no_leader_only,
            timestamp: cli.timestamp,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::Io(format!("cannot start the runtime: {e}")))?;
        runtime.block_on(commands::run(&options, &cli.args))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            ExitCode::FAILURE
        }
    }
}
