//! `ovsdb-bench`: runs one workload of the anchor scripts with our OVSDB client against a
//! given remote and prints one JSON line. `scripts/bench` runs it beside the anchors.
//!
//! ```text
//! ovsdb-bench lsp-add --remote REMOTE --switch NAME --count N --mode sequential|pipelined|batch
//! ovsdb-bench sync --remote REMOTE
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ovn_benches::lsp_add::{self, Mode};
use ovn_benches::{report, sync};

use ovsdb_client::client::Client;

#[derive(Parser)]
#[command(
    name = "ovsdb-bench",
    about = "Benchmark workloads against an OVN Northbound server"
)]
struct Cli {
    /// Tokio worker threads; 0 runs everything on the main thread (the default, which spares
    /// the cross-thread wake-ups that a request/reply round trip would otherwise pay).
    #[arg(long, global = true, default_value_t = 0, hide = true)]
    threads: usize,
    #[command(subcommand)]
    workload: Workload,
}

#[derive(Subcommand)]
enum Workload {
    /// Adds ports to a logical switch, as raw_pipeline.py does.
    LspAdd {
        /// The server, e.g. unix:/tmp/nbbench/nb.sock.
        #[arg(long)]
        remote: String,
        /// The logical switch (created if missing); ports are named <switch>-<i>.
        #[arg(long)]
        switch: String,
        /// How many ports.
        #[arg(long)]
        count: u64,
        /// sequential, pipelined or batch.
        #[arg(long)]
        mode: Mode,
    },
    /// Replicates all of OVN_Northbound from cold and reports when it is loaded.
    Sync {
        /// The server, e.g. unix:/tmp/nbbench/nb.sock.
        #[arg(long)]
        remote: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = if cli.threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ovsdb-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.workload)) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ovsdb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(workload: Workload) -> ovn_benches::Result<String> {
    match workload {
        Workload::LspAdd {
            remote,
            switch,
            count,
            mode,
        } => {
            let client = Client::connect(ovn_benches::client_config(&remote)?).await?;
            let elapsed = lsp_add::run(&client, &switch, count, mode).await?;
            client.shutdown();
            Ok(report::lsp_add_line(mode, count, elapsed))
        }
        Workload::Sync { remote } => {
            let outcome = sync::run(&remote).await?;
            Ok(report::sync_line(
                outcome.rows,
                outcome.elapsed,
                report::max_rss_kib(),
            ))
        }
    }
}
