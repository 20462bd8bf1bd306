//! `kube-ovn`: the CNI plugin (being built; see issue 6).

fn main() -> std::process::ExitCode {
    eprintln!("kube-ovn is not built yet");
    std::process::ExitCode::FAILURE
}
