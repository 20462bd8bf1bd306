//! Tests of the fixtures themselves: each starts what it claims, restarts keep data, clusters
//! elect and survive a leader kill, and everything is gone after drop.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ovn_tests::{
    Chassis, DEFAULT_TIMEOUT, ELECTION_TIMEOUT, Error, OvnCentral, OvsdbServer, Pki, RaftCluster,
    Result, Role, Schema, free_tcp_port, require_tools, unique_name, wait_until,
};

/// Runs the C `ovsdb-client` with `args`, failing after a short budget (a refused SSL handshake
/// must not look like a hang).
fn c_ovsdb_client(args: &[&str]) -> Result<String> {
    let mut command = Command::new("ovsdb-client");
    command.args(args);
    ovn_tests::run(&mut command, Duration::from_secs(15))
}

/// Whether `pid` is a live process. A killed daemon whose parent is gone stays a zombie until
/// init reaps it, which counts as dead.
fn process_exists(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the parenthesised command name: "PID (comm) S ...".
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X'))
    })
}

#[test]
fn ovsdb_server_serves_unix_and_tcp() -> Result<()> {
    let nb = OvsdbServer::builder(Schema::Northbound).tcp().start()?;
    assert_eq!(nb.db_name(), "OVN_Northbound");
    assert!(nb.unix_remote().starts_with("unix:/"));
    let tcp = nb.tcp_remote().expect("built with .tcp()");
    assert_eq!(tcp, format!("tcp:127.0.0.1:{}", nb.tcp_port().unwrap()));
    assert_eq!(nb.ssl_remote(), None);
    for remote in [nb.unix_remote(), tcp] {
        let dbs = c_ovsdb_client(&["list-dbs", &remote])?;
        assert_eq!(
            dbs.lines().collect::<Vec<_>>(),
            ["OVN_Northbound", "_Server"]
        );
    }
    Ok(())
}

#[test]
fn ovsdb_server_starts_every_schema() -> Result<()> {
    let sb = OvsdbServer::sb()?;
    assert!(
        sb.ovsdb_client("list-dbs", [""; 0])?
            .contains("OVN_Southbound")
    );
    let ovs = OvsdbServer::open_vswitch()?;
    assert!(
        ovs.ovsdb_client("list-dbs", [""; 0])?
            .contains("Open_vSwitch")
    );
    ovs.vsctl(["init"])?;
    assert!(ovs.vsctl(["show"])?.trim().len() >= 36, "a uuid at least");
    let any = OvsdbServer::builder(Schema::File(
        "/usr/share/openvswitch/vswitch.ovsschema".into(),
    ))
    .label("custom")
    .start()?;
    assert_eq!(any.db_name(), "Open_vSwitch");
    assert!(any.socket_path().ends_with("custom.sock"));
    Ok(())
}

#[test]
fn ovsdb_server_transacts_through_the_c_tools() -> Result<()> {
    let nb = OvsdbServer::nb()?;
    let reply = nb.transact(
        r#"["OVN_Northbound",{"op":"insert","table":"Logical_Switch","row":{"name":"sw0"}}]"#,
    )?;
    let reply: serde_json::Value = serde_json::from_str(&reply).expect("transact prints JSON");
    assert!(reply[0]["uuid"][1].is_string(), "{reply}");
    assert_eq!(
        nb.nbctl(["ls-list"])?.split_whitespace().nth(1),
        Some("(sw0)")
    );
    let dump = nb.ovsdb_client("dump", ["OVN_Northbound", "Logical_Switch", "name"])?;
    assert!(dump.contains("sw0"), "{dump}");
    Ok(())
}

#[test]
fn ovsdb_server_restart_keeps_data_socket_and_port() -> Result<()> {
    let mut nb = OvsdbServer::builder(Schema::Northbound).tcp().start()?;
    let tcp = nb.tcp_remote().unwrap();
    let port = nb.tcp_port().unwrap();
    nb.nbctl(["ls-add", "before-crash"])?;
    let first_pid = nb.pid().unwrap();

    nb.kill()?;
    assert!(!nb.is_running());
    assert_eq!(nb.pid(), None);
    assert!(!process_exists(first_pid), "killed and reaped");
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    assert!(c_ovsdb_client(&["list-dbs", &nb.unix_remote()]).is_err());

    nb.start()?;
    assert!(nb.is_running());
    assert_ne!(nb.pid(), Some(first_pid));
    assert_eq!(nb.tcp_remote().unwrap(), tcp, "same port after restart");
    assert!(c_ovsdb_client(&["list-dbs", &tcp])?.contains("OVN_Northbound"));
    nb.nbctl(["ls-add", "after-crash"])?;

    nb.restart()?; // graceful this time
    let switches = nb.nbctl(["--bare", "--columns=name", "list", "Logical_Switch"])?;
    let mut names: Vec<&str> = switches.split_whitespace().collect();
    names.sort();
    assert_eq!(names, ["after-crash", "before-crash"]);
    Ok(())
}

#[test]
fn ovsdb_server_is_gone_after_drop() -> Result<()> {
    let nb = OvsdbServer::builder(Schema::Northbound).tcp().start()?;
    let pid = nb.pid().unwrap();
    let dir = nb.dir().to_path_buf();
    let port = nb.tcp_port().unwrap();
    assert!(process_exists(pid));
    drop(nb);
    assert!(!process_exists(pid));
    assert!(!dir.exists(), "scratch directory {} deleted", dir.display());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    Ok(())
}

#[test]
fn daemons_outlive_the_thread_that_started_them() -> Result<()> {
    // The kernel kills daemons when the *thread* that forked them dies (pdeathsig), so the
    // harness forks from one long-lived thread; a fixture made on a short-lived thread must
    // keep running.
    let mut nb = std::thread::spawn(OvsdbServer::nb).join().unwrap()?;
    assert!(nb.is_running());
    assert!(nb.nbctl(["ls-list"]).is_ok());
    Ok(())
}

#[test]
fn daemons_die_with_a_test_process_that_aborts() -> Result<()> {
    // The helper starts a server and exits without unwinding: no Drop runs, only the kernel's
    // pdeathsig can stop the daemon.
    let helper = Command::new(env!("CARGO_BIN_EXE_ovn-tests-abort"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the helper runs");
    let helper_pid = helper.id();
    let output = helper.wait_with_output().expect("the helper ends");
    assert_eq!(
        output.status.code(),
        Some(3),
        "the helper exits early on purpose"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (pid, dir) = stdout
        .trim()
        .split_once(' ')
        .unwrap_or_else(|| panic!("helper printed {stdout:?}"));
    let pid: u32 = pid.parse().expect("a pid");
    let dir = std::path::PathBuf::from(dir);
    wait_until(DEFAULT_TIMEOUT, "the orphaned ovsdb-server to die", || {
        !process_exists(pid)
    })?;
    // Its scratch directory stays behind, named after the dead helper, until the next scratch
    // directory made anywhere reaps it.
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.contains(&format!("-{helper_pid}-")), "{name}");
    assert!(dir.exists());
    let _next = ovn_tests::ScratchDir::new("reaper")?;
    assert!(!dir.exists(), "{} reaped", dir.display());
    Ok(())
}

#[test]
fn ssl_server_accepts_trusted_peers_and_rejects_untrusted_ones() -> Result<()> {
    let pki = Pki::new()?;
    let nb = OvsdbServer::builder(Schema::Northbound).ssl(&pki).start()?;
    let remote = nb.ssl_remote().expect("built with .ssl()");
    let ca = pki.ca_certificate().display().to_string();
    let ssl_args = |pair: &ovn_tests::CertificatePair, ca: &str| {
        vec![
            format!("--private-key={}", pair.private_key.display()),
            format!("--certificate={}", pair.certificate.display()),
            format!("--ca-cert={ca}"),
        ]
    };

    let mut args = ssl_args(pki.client(), &ca);
    args.extend(["list-dbs".to_owned(), remote.clone()]);
    let dbs = c_ovsdb_client(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    assert!(dbs.contains("OVN_Northbound"), "{dbs}");

    let mut args = ssl_args(
        pki.untrusted_client(),
        &pki.untrusted_ca_certificate().display().to_string(),
    );
    args.extend(["list-dbs".to_owned(), remote.clone()]);
    let refused = c_ovsdb_client(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        matches!(refused, Err(Error::CommandFailed { .. })),
        "the server must refuse a client certificate from another CA: {refused:?}"
    );

    // A server presenting a certificate from the untrusted CA is refused by a client that
    // trusts only the real CA.
    let impostor = OvsdbServer::builder(Schema::Northbound)
        .ssl_files(
            pki.untrusted_server().clone(),
            pki.untrusted_ca_certificate(),
        )
        .start()?;
    let mut args = ssl_args(pki.client(), &ca);
    args.extend(["list-dbs".to_owned(), impostor.ssl_remote().unwrap()]);
    let refused = c_ovsdb_client(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        matches!(refused, Err(Error::CommandFailed { .. })),
        "the client must refuse a server certificate from another CA: {refused:?}"
    );
    Ok(())
}

#[test]
fn pki_makes_ovs_style_certificates() -> Result<()> {
    let pki = Pki::new()?;
    for pair in [pki.server(), pki.client(), pki.untrusted_client()] {
        let key = std::fs::read_to_string(&pair.private_key).unwrap();
        let cert = std::fs::read_to_string(&pair.certificate).unwrap();
        assert!(
            key.contains("PRIVATE KEY"),
            "{}",
            pair.private_key.display()
        );
        assert!(
            cert.contains("BEGIN CERTIFICATE"),
            "{}",
            pair.certificate.display()
        );
    }
    let verify = |name: &str| {
        let mut command = Command::new("openssl");
        command
            .arg("verify")
            .arg("-CAfile")
            .arg(pki.ca_certificate())
            .arg(pki.dir().join(format!("{name}-cert.pem")));
        ovn_tests::run(&mut command, DEFAULT_TIMEOUT)
    };
    if require_tools(&["openssl"]).is_ok() {
        verify("server")?;
        verify("client")?;
        assert!(verify("untrusted-client").is_err());
    }
    Ok(())
}

#[test]
fn free_tcp_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..20).map(|_| free_tcp_port()).collect();
    let mut unique = ports.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "{ports:?}");
    for port in ports {
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("a free port binds");
    }
}

#[test]
fn unique_names_differ_and_carry_the_pid() {
    let a = unique_name("x");
    let b = unique_name("x");
    assert_ne!(a, b);
    assert!(a.starts_with(&format!("x-{}-", std::process::id())), "{a}");
}

#[test]
fn wait_until_reports_what_it_waited_for() {
    let err = wait_until(Duration::from_millis(50), "the moon to turn blue", || false)
        .expect_err("never true");
    let message = err.to_string();
    assert!(message.contains("the moon to turn blue"), "{message}");
    assert!(matches!(err, Error::Timeout { .. }));
    let mut calls = 0;
    wait_until(DEFAULT_TIMEOUT, "the third call", || {
        calls += 1;
        calls == 3
    })
    .unwrap();
    assert_eq!(calls, 3);
}

#[tokio::test]
async fn wait_until_async_polls_a_future() {
    let mut calls = 0;
    ovn_tests::wait_until_async(DEFAULT_TIMEOUT, "the second call", || {
        calls += 1;
        let done = calls == 2;
        async move { done }
    })
    .await
    .unwrap();
    assert_eq!(calls, 2);
    let err = ovn_tests::wait_until_async(Duration::from_millis(20), "never", || async { false })
        .await
        .expect_err("never true");
    assert!(err.to_string().contains("never"));
}

#[test]
fn run_bounds_a_hanging_command() {
    let mut command = Command::new("sleep");
    command.arg("30");
    let err = ovn_tests::run(&mut command, Duration::from_millis(200)).expect_err("killed");
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let mut command = Command::new("sh");
    command.args(["-c", "echo oops >&2; exit 3"]);
    let err = ovn_tests::run(&mut command, DEFAULT_TIMEOUT).expect_err("exit 3");
    let message = err.to_string();
    assert!(
        message.contains("oops") && message.contains('3'),
        "{message}"
    );
}

#[test]
fn missing_tools_name_their_package() {
    assert!(require_tools(&["ovsdb-server", "ovn-northd", "ovs-vswitchd"]).is_ok());
    let err = require_tools(&["ovsdb-server", "no-such-ovn-tool"]).expect_err("missing");
    assert!(err.to_string().contains("no-such-ovn-tool"), "{err}");
    assert!(matches!(err, Error::MissingTool { .. }));
}

#[test]
fn northd_translates_nb_into_logical_flows() -> Result<()> {
    let central = OvnCentral::start()?;
    central.nb.nbctl([
        "ls-add",
        "sw0",
        "--",
        "lsp-add",
        "sw0",
        "p1",
        "--",
        "lsp-set-addresses",
        "p1",
        "00:00:00:00:00:01 10.0.0.1",
        "--",
        "lsp-add",
        "sw0",
        "p2",
        "--",
        "lsp-set-addresses",
        "p2",
        "00:00:00:00:00:02 10.0.0.2",
    ])?;
    central.wait_synced()?;
    let datapaths = central.sb.sbctl([
        "--bare",
        "--columns=external_ids",
        "list",
        "Datapath_Binding",
    ])?;
    assert!(datapaths.contains("name=sw0"), "{datapaths}");
    let trace = central.ovn_trace([
        "--minimal",
        "sw0",
        r#"inport == "p1" && eth.src == 00:00:00:00:00:01 && eth.dst == 00:00:00:00:00:02"#,
    ])?;
    assert!(trace.contains(r#"output("p2")"#), "{trace}");
    Ok(())
}

#[test]
fn raft_cluster_elects_a_leader_and_survives_its_kill() -> Result<()> {
    let mut cluster = RaftCluster::nb()?;
    assert_eq!(cluster.len(), 3);
    assert_eq!(cluster.remote().split(',').count(), 3);
    for i in 0..3 {
        let status = cluster.status(i)?;
        assert_eq!(status.status, "cluster member", "{}", status.raw);
        assert!(
            status.raw.contains("Election timer: 5000"),
            "{}",
            status.raw
        );
        assert!(cluster.member_remote(i)?.starts_with("tcp:127.0.0.1:"));
    }
    assert!(matches!(
        cluster.member_remote(3),
        Err(Error::NoSuchMember {
            index: 3,
            members: 3
        })
    ));
    cluster.nbctl(["ls-add", "before-kill"])?;

    let old = cluster.wait_for_leader(ELECTION_TIMEOUT)?;
    assert_eq!(cluster.status(old)?.role, Role::Leader);
    let old_pid = cluster.pid(old).unwrap();
    cluster.kill(old)?;
    assert!(!process_exists(old_pid));
    let new = cluster.wait_for_leader(ELECTION_TIMEOUT)?;
    assert_ne!(new, old);
    cluster.nbctl(["ls-add", "after-kill"])?;

    cluster.restart(old)?;
    let back = cluster.member_unix_remote(old)?;
    // The restarted member catches up from the leader: both writes appear on it.
    wait_until(ELECTION_TIMEOUT, "the restarted member to catch up", || {
        let mut command = Command::new("ovn-nbctl");
        command.args([
            format!("--db={back}").as_str(),
            "--no-leader-only",
            "--bare",
            "--columns=name",
            "list",
            "Logical_Switch",
        ]);
        ovn_tests::run(&mut command, DEFAULT_TIMEOUT)
            .is_ok_and(|names| names.contains("before-kill") && names.contains("after-kill"))
    })?;
    assert_eq!(cluster.status(old)?.status, "cluster member");
    Ok(())
}

#[test]
fn chassis_registers_in_southbound_and_cleans_up() -> Result<()> {
    let central = OvnCentral::start()?;
    let chassis = Chassis::start(&central.sb.remote())?;
    let name = chassis.name().to_owned();
    let shown = central.sb.sbctl(["show"])?;
    assert!(shown.contains(&format!("Chassis {name}")), "{shown}");
    chassis.vsctl(["br-exists", "br-int"])?;
    let datapath = chassis.vsctl(["get", "Bridge", "br-int", "datapath_type"])?;
    assert_eq!(datapath.trim(), "netdev");
    // The netdev datapath's devices live in the chassis namespace, not on the host.
    let links = chassis.exec(["ip", "-br", "link"])?;
    assert!(links.contains("br-int"), "{links}");
    assert!(Path::new(&format!("/run/netns/{name}")).exists());
    // ovn-controller programs br-int.
    wait_until(DEFAULT_TIMEOUT, "ovn-controller to install flows", || {
        chassis
            .ofctl(["dump-flows", "br-int"])
            .is_ok_and(|flows| flows.lines().count() > 10)
    })?;
    let (vswitchd, controller) = (
        chassis.vswitchd_pid().unwrap(),
        chassis.controller_pid().unwrap(),
    );

    drop(chassis);
    assert!(!process_exists(vswitchd) && !process_exists(controller));
    assert!(!Path::new(&format!("/run/netns/{name}")).exists());
    let left = central
        .sb
        .sbctl(["--bare", "--columns=name", "list", "Chassis"])?;
    assert!(
        !left.contains(&name),
        "ovn-controller removed its Chassis row: {left}"
    );
    Ok(())
}

#[test]
fn chassis_pods_talk_tcp_through_ovn() -> Result<()> {
    let central = OvnCentral::start()?;
    central.nb.nbctl([
        "ls-add",
        "sw0",
        "--",
        "lsp-add",
        "sw0",
        "pod-a",
        "--",
        "lsp-set-addresses",
        "pod-a",
        "0a:00:00:00:00:0a 10.9.0.10",
        "--",
        "lsp-add",
        "sw0",
        "pod-b",
        "--",
        "lsp-set-addresses",
        "pod-b",
        "0a:00:00:00:00:0b 10.9.0.11",
    ])?;
    central.wait_synced()?;
    let chassis = Chassis::start(&central.sb.remote())?;
    let a = chassis.add_pod("pod-a", "0a:00:00:00:00:0a", "10.9.0.10/24", None)?;
    let mut b = chassis.add_pod("pod-b", "0a:00:00:00:00:0b", "10.9.0.11/24", None)?;
    let probe = env!("CARGO_BIN_EXE_ovn-tests-probe");
    b.spawn("listener", probe, ["listen", "7000"])?;
    // A TCP round trip through br-int, driven by the flows ovn-controller installed.
    wait_until(DEFAULT_TIMEOUT, "pod-a to reach pod-b over TCP", || {
        a.exec([probe, "connect", "10.9.0.11:7000"]).is_ok()
    })?;
    // And OVN decides: a drop ACL on pod-b's port cuts it off.
    central.nb.nbctl([
        "acl-add",
        "sw0",
        "to-lport",
        "1000",
        r#"outport == "pod-b" && tcp"#,
        "drop",
    ])?;
    central.northd.wait_hypervisors_synced()?;
    assert!(a.exec([probe, "connect", "10.9.0.11:7000"]).is_err());
    Ok(())
}
