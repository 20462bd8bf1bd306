//! `kube-ovn-daemon`: the node agent (being built; see issue 6).

fn main() -> std::process::ExitCode {
    eprintln!("kube-ovn-daemon is not built yet");
    std::process::ExitCode::FAILURE
}
