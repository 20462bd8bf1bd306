//! A helper for the harness's own tests, not a tool: starts an ovsdb-server fixture, prints its
//! pid and scratch directory, then exits without running any destructor, as a test process
//! killed by a timeout would (`process::exit` does not unwind and, unlike `abort`, leaves no
//! core file). The test that runs it checks that the kernel killed the daemon anyway.

fn main() {
    let nb = match ovn_tests::OvsdbServer::nb() {
        Ok(nb) => nb,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    println!("{} {}", nb.pid().unwrap_or_default(), nb.dir().display());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(3);
}
