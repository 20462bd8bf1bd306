//! A hypervisor ("chassis"): ovs-vswitchd with the userspace datapath plus ovn-controller, in a
//! network namespace of its own.
//!
//! Why a namespace: the `netdev` datapath creates TAP devices (`ovs-netdev`, `br-int`) in the
//! namespace it runs in. Two chassis in one namespace would collide, and the host would keep
//! leftovers after a crash; deleting the namespace removes everything.
//!
//! Why `netdev`: it needs no kernel module, so it works in containers and on CI machines. Pods are
//! further namespaces joined to `br-int` by veth pairs. One caveat for TCP between such pods: the
//! userspace datapath does not complete checksums a veth left to offload, so turn tx checksum
//! offload off on both veth ends (`ethtool -K DEV tx off`); ICMP and UDP work without it.
//!
//! Several chassis reach each other through Geneve when each is cabled to one [`Underlay`]
//! ([`ChassisBuilder::underlay`]); `underlay.rs` says what userspace tunnelling needs.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::process::{Daemon, ScratchDir, daemon_command, process_command, run_tool};
use crate::underlay::Cable;
use crate::{DEFAULT_TIMEOUT, Error, OvsdbServer, Result, Underlay, require_tools, unique_name};

/// Prefix of the namespaces (and chassis names) this harness creates.
const NAMESPACE_PREFIX: &str = "ovnt";

/// A network namespace with a unique name, deleted (with every interface in it) on drop.
///
/// Names are `PREFIX-PID-N`. Creating one also deletes namespaces with the same prefix whose
/// test process no longer exists, left behind by test processes that were killed before their
/// `Drop` ran.
#[derive(Debug)]
pub struct NetNamespace {
    name: String,
}

impl NetNamespace {
    /// Creates `PREFIX-PID-N` and brings its loopback up.
    pub fn new(prefix: &str) -> Result<Self> {
        require_tools(&["ip"])?;
        reap_stale_namespaces(prefix);
        let name = unique_name(prefix);
        ip(["netns", "add", &name])?;
        let namespace = NetNamespace { name };
        namespace.exec(["ip", "link", "set", "lo", "up"])?;
        Ok(namespace)
    }

    /// The namespace's name, as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NAME program`).
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// Runs `args` (a program and its arguments) inside the namespace and returns its stdout.
    pub fn exec<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        let all = ["netns", "exec", &self.name]
            .into_iter()
            .map(str::to_owned)
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        ip(all.collect::<Vec<_>>())
    }
}

impl Drop for NetNamespace {
    fn drop(&mut self) {
        let _ = ip(["netns", "delete", &self.name]);
    }
}

/// Runs `ip ARGS` with the default time budget.
pub(crate) fn ip<I: IntoIterator<Item = S>, S: AsRef<str>>(args: I) -> Result<String> {
    let mut command = Command::new("ip");
    command.args(args.into_iter().map(|a| a.as_ref().to_owned()));
    crate::run(&mut command, DEFAULT_TIMEOUT)
}

/// Deletes `PREFIX-PID-N` namespaces whose PID is not a running process.
fn reap_stale_namespaces(prefix: &str) {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(["netns", "delete", &name]);
        }
    }
}

/// Configures a [`Chassis`] before it starts.
#[derive(Debug)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct ChassisBuilder {
    sb_remote: String,
    encap_ip: String,
    // The error, if any, waits for start(): a builder method cannot fail.
    cable: Option<Result<Cable>>,
}

/// The chassis end of an underlay cable, a port of [`PHYSICAL_BRIDGE`].
const UNDERLAY_PORT: &str = "ul0";

/// The netdev bridge holding the underlay port and the encap address (see `underlay.rs`).
pub const PHYSICAL_BRIDGE: &str = "br-phy";

impl ChassisBuilder {
    /// Cables the chassis to `underlay` and tunnels over it: the chassis gets the next address
    /// on the segment as its encap address (overriding [`ChassisBuilder::encap_ip`]), on the
    /// netdev bridge `br-phy` whose port `ul0` is the cable, so ovs-vswitchd's userspace
    /// Geneve can send and receive (see [`Underlay`] for why it must be so). `start` returns
    /// once ovs-vswitchd routes the segment through `br-phy`.
    pub fn underlay(mut self, underlay: &Underlay) -> Self {
        self.cable = Some(underlay.cable());
        self
    }

    /// The tunnel endpoint address registered in SB (`external_ids:ovn-encap-ip`, default
    /// `127.0.0.1`: enough for a single chassis).
    pub fn encap_ip(mut self, ip: impl Into<String>) -> Self {
        self.encap_ip = ip.into();
        self
    }

    /// Creates the namespace, the Open_vSwitch database with `br-int`, starts ovs-vswitchd and
    /// ovn-controller inside the namespace, and returns once the chassis is registered in SB.
    pub fn start(self) -> Result<Chassis> {
        require_tools(&[
            "ovsdb-server",
            "ovs-vsctl",
            "ovs-vswitchd",
            "ovn-controller",
            "ovn-sbctl",
            "ip",
            "setpriv",
        ])?;
        let cable = self.cable.transpose()?;
        let encap_ip = cable.as_ref().map_or(self.encap_ip, |c| c.ip.clone());
        let netns = NetNamespace::new(NAMESPACE_PREFIX)?;
        let name = netns.name().to_owned();
        let dir = ScratchDir::new("chassis")?;
        let ovs = OvsdbServer::builder(crate::Schema::OpenVswitch).start()?;
        ovs.vsctl([
            "--",
            "init",
            "--",
            "set",
            "Open_vSwitch",
            ".",
            &format!("external_ids:system-id={name}"),
            &format!("external_ids:hostname={name}"),
            &format!("external_ids:ovn-remote={}", self.sb_remote),
            "external_ids:ovn-encap-type=geneve",
            &format!("external_ids:ovn-encap-ip={encap_ip}"),
            "external_ids:ovn-bridge-datapath-type=netdev",
            "--",
            "add-br",
            "br-int",
            "--",
            "set",
            "Bridge",
            "br-int",
            "datapath_type=netdev",
            "fail-mode=secure",
            "other-config:disable-in-band=true",
        ])?;
        let in_namespace = ["ip", "netns", "exec", name.as_str()];

        let vswitchd_log = dir.join("ovs-vswitchd.log");
        let vswitchd_control = dir.join("ovs-vswitchd.ctl");
        let mut command = daemon_command(&in_namespace, "ovs-vswitchd", dir.path());
        command
            .arg(ovs.unix_remote())
            .arg(format!("--unixctl={}", vswitchd_control.display()))
            .arg(format!("--log-file={}", vswitchd_log.display()));
        let mut vswitchd = Daemon::spawn(
            format!("ovs-vswitchd {name}"),
            command,
            &vswitchd_log,
            Some(vswitchd_control.clone()),
        )?;
        vswitchd.wait_for_socket(&vswitchd_control, DEFAULT_TIMEOUT)?;
        // ovs-vswitchd applies the database asynchronously; ovn-controller needs br-int.
        let what = format!("ovs-vswitchd to create br-int in namespace {name}");
        crate::wait_until(DEFAULT_TIMEOUT, &what, || {
            ip(["-n", name.as_str(), "link", "show", "br-int"]).is_ok()
                && dir.join("br-int.mgmt").exists()
        })
        .map_err(|e| vswitchd.with_log(e))?;
        if let Some(cable) = &cable {
            physical_bridge(&name, &dir, &ovs, cable, &vswitchd_control)
                .map_err(|e| vswitchd.with_log(e))?;
        }

        // ovn-controller 23.03 has no --unixctl: its socket is $OVN_RUNDIR/ovn-controller.PID.ctl,
        // and `ip netns exec` execs, so PID is the child's pid.
        let controller_log = dir.join("ovn-controller.log");
        let mut command = daemon_command(&in_namespace, "ovn-controller", dir.path());
        command
            .arg(ovs.unix_remote())
            .arg(format!("--log-file={}", controller_log.display()));
        let mut controller = Daemon::spawn(
            format!("ovn-controller {name}"),
            command,
            &controller_log,
            None,
        )?;
        let pid = controller.pid().unwrap_or_default();
        let controller_control = dir.join(format!("ovn-controller.{pid}.ctl"));
        controller.set_control(controller_control.clone());
        controller.wait_for_socket(&controller_control, DEFAULT_TIMEOUT)?;

        let chassis = Chassis {
            processes: Vec::new(),
            controller,
            controller_control,
            vswitchd,
            vswitchd_control,
            ovs,
            netns,
            name,
            sb_remote: self.sb_remote,
            encap_ip,
            dir,
        };
        chassis.wait_registered()?;
        Ok(chassis)
    }
}

/// One hypervisor: an Open_vSwitch database (outside, on a unix socket), ovs-vswitchd with
/// `br-int` on the `netdev` datapath and ovn-controller (inside a [`NetNamespace`]), registered
/// in an SB database as a `Chassis` named like the namespace.
///
/// Heavy: name tests using it `chassis_…` so nextest runs them one at a time (see the crate
/// docs).
///
/// Why a namespace: the `netdev` datapath creates TAP devices (`ovs-netdev`, `br-int`) in the
/// namespace it runs in; two chassis in one namespace would collide, and deleting the namespace
/// cleans up everything. Why `netdev`: it needs no kernel module. Pods are further namespaces
/// joined to `br-int` by veth pairs; for TCP between them, turn tx checksum offload off on both
/// veth ends (`ethtool -K DEV tx off`), because the userspace datapath does not complete
/// checksums left to offload. ICMP and UDP work without it.
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{Chassis, OvnCentral};
/// let central = OvnCentral::start()?;
/// let chassis = Chassis::start(&central.sb.remote())?; // registered in SB when this returns
/// chassis.vsctl(["show"])?;
/// chassis.exec(["ip", "link"])?; // inside the chassis namespace
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Chassis {
    // Drop order matters: processes started in the node (a node daemon), ovn-controller,
    // ovs-vswitchd, their database, the namespace, the directory.
    processes: Vec<Daemon>,
    controller: Daemon,
    controller_control: std::path::PathBuf,
    vswitchd: Daemon,
    vswitchd_control: std::path::PathBuf,
    ovs: OvsdbServer,
    netns: NetNamespace,
    name: String,
    sb_remote: String,
    encap_ip: String,
    dir: ScratchDir,
}

/// Sets up the chassis side of an underlay cable inside namespace `name` (see `underlay.rs`):
/// `br-phy` (netdev) with the cable `ul0` as its port, the encap address on `br-phy`'s own
/// interface, then waits until ovs-vswitchd's route table (copied from the namespace's kernel
/// routes) sends the segment through `br-phy`, which is what its userspace tunnels look up.
fn physical_bridge(
    name: &str,
    dir: &ScratchDir,
    ovs: &OvsdbServer,
    cable: &Cable,
    vswitchd_control: &Path,
) -> Result<()> {
    cable.lay(name, UNDERLAY_PORT)?;
    // One transaction, so br-phy's MAC (taken from its first port) is settled when the kernel
    // device appears; ovs-vsctl without --no-wait returns once ovs-vswitchd applied it.
    run_tool(
        "ovs-vsctl",
        dir.path(),
        [
            &format!("--db={}", ovs.unix_remote()),
            "--",
            "add-br",
            PHYSICAL_BRIDGE,
            "--",
            "set",
            "Bridge",
            PHYSICAL_BRIDGE,
            "datapath_type=netdev",
            "other-config:disable-in-band=true",
            "--",
            "add-port",
            PHYSICAL_BRIDGE,
            UNDERLAY_PORT,
        ],
    )?;
    let address = format!("{}/{}", cable.ip, cable.prefix_len);
    ip(["-n", name, "addr", "add", &address, "dev", PHYSICAL_BRIDGE])?;
    ip(["-n", name, "link", "set", PHYSICAL_BRIDGE, "up"])?;
    let what = format!("ovs-vswitchd in {name} to route the underlay through {PHYSICAL_BRIDGE}");
    let mut last = String::new();
    crate::wait_until(DEFAULT_TIMEOUT, &what, || {
        last = appctl(dir.path(), vswitchd_control, ["ovs/route/show"]).unwrap_or_default();
        last.lines()
            .any(|l| l.contains(&format!("dev {PHYSICAL_BRIDGE}")) && !l.contains("/32"))
    })
    .map_err(|e| match e {
        Error::Timeout {
            what,
            timeout,
            details,
        } => Error::Timeout {
            what,
            timeout,
            details: format!("{details}\novs/route/show:\n{last}"),
        },
        other => other,
    })
}

/// Runs `ovs-appctl -t CONTROL ARGS` (a unixctl socket path works from any namespace).
fn appctl<I: IntoIterator<Item = S>, S: AsRef<str>>(
    dir: &Path,
    control: &Path,
    args: I,
) -> Result<String> {
    let all = ["-t".to_owned(), control.display().to_string()]
        .into_iter()
        .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
    run_tool("ovs-appctl", dir, all.collect::<Vec<_>>())
}

impl Chassis {
    /// A builder for a chassis connected to `sb_remote`.
    pub fn builder(sb_remote: &str) -> ChassisBuilder {
        ChassisBuilder {
            sb_remote: sb_remote.to_owned(),
            encap_ip: "127.0.0.1".to_owned(),
            cable: None,
        }
    }

    /// A chassis connected to `sb_remote`, with the defaults.
    pub fn start(sb_remote: &str) -> Result<Self> {
        Self::builder(sb_remote).start()
    }

    /// The chassis name (SB `Chassis.name`, OVS `system-id`), also the namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace the data plane lives in.
    pub fn netns(&self) -> &NetNamespace {
        &self.netns
    }

    /// The chassis's Open_vSwitch database server.
    pub fn ovs(&self) -> &OvsdbServer {
        &self.ovs
    }

    /// The Open_vSwitch database remote (`unix:PATH`), e.g. for a node daemon.
    pub fn ovs_remote(&self) -> String {
        self.ovs.unix_remote()
    }

    /// The SB remote ovn-controller uses.
    pub fn sb_remote(&self) -> &str {
        &self.sb_remote
    }

    /// The tunnel endpoint address (`external_ids:ovn-encap-ip`): on an [`Underlay`], the
    /// address of `br-phy`.
    pub fn encap_ip(&self) -> &str {
        &self.encap_ip
    }

    /// Runs `ovs-appctl ARGS` against this chassis's ovs-vswitchd, e.g. `["ovs/route/show"]`,
    /// `["tnl/arp/show"]`, `["tnl/ports/show"]` or `["dpctl/dump-flows"]`.
    pub fn vswitchd_appctl<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        args: I,
    ) -> Result<String> {
        appctl(self.dir.path(), &self.vswitchd_control, args)
    }

    /// Runs `ovs-appctl ARGS` against this chassis's ovn-controller, e.g.
    /// `["connection-status"]`.
    pub fn controller_appctl<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        args: I,
    ) -> Result<String> {
        appctl(self.dir.path(), &self.controller_control, args)
    }

    /// ovs-vswitchd's process id.
    pub fn vswitchd_pid(&self) -> Option<u32> {
        self.vswitchd.pid()
    }

    /// ovn-controller's process id.
    pub fn controller_pid(&self) -> Option<u32> {
        self.controller.pid()
    }

    /// Whether ovs-vswitchd and ovn-controller both run.
    pub fn is_running(&mut self) -> bool {
        self.vswitchd.is_running() && self.controller.is_running()
    }

    /// Runs `ovs-vsctl --db=unix:… ARGS`, which waits until ovs-vswitchd has applied the change.
    pub fn vsctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        let all = std::iter::once(format!("--db={}", self.ovs.unix_remote()))
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool("ovs-vsctl", self.dir.path(), all.collect::<Vec<_>>())
    }

    /// Runs `ovs-ofctl ARGS` against this chassis's ovs-vswitchd (e.g.
    /// `["dump-flows", "br-int"]`).
    pub fn ofctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        run_tool(
            "ovs-ofctl",
            self.dir.path(),
            args.into_iter()
                .map(|a| a.as_ref().to_owned())
                .collect::<Vec<_>>(),
        )
    }

    /// Runs `args` (a program and its arguments) inside the chassis namespace.
    pub fn exec<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.netns.exec(args)
    }

    /// Plugs a pod into this chassis and waits until ovn-controller has installed its flows.
    ///
    /// The pod is a [`NetNamespace`] whose `eth0` (address `mac`, `ip_cidr` such as
    /// `10.0.0.2/24`, default route via `gateway`) is one end of a veth pair; the other end is a
    /// `br-int` port with `external_ids:iface-id=LSP`, which binds it to the logical switch port
    /// `lsp`. That port must exist in NB (and northd run) for the wait to end: the wait is for
    /// `external_ids:ovn-installed=true`. Both veth ends have tx checksum offload off, so TCP
    /// works through the netdev datapath.
    pub fn add_pod(
        &self,
        lsp: &str,
        mac: &str,
        ip_cidr: &str,
        gateway: Option<&str>,
    ) -> Result<Pod> {
        static PORTS: AtomicU32 = AtomicU32::new(0);
        require_tools(&["ethtool"])?;
        let dir = ScratchDir::new("pod")?;
        let netns = NetNamespace::new("ovnp")?;
        // The host end lives in the chassis namespace, which only this process uses.
        let host = format!("veth{}", PORTS.fetch_add(1, Ordering::Relaxed));
        let chassis_ns = self.netns.name();
        let pod_ns = netns.name().to_owned();
        let pod_ns = pod_ns.as_str();
        ip([
            "-n", chassis_ns, "link", "add", &host, "type", "veth", "peer", "name", "eth0",
            "netns", pod_ns,
        ])?;
        let pod = Pod {
            processes: Vec::new(),
            netns,
            host: host.clone(),
            lsp: lsp.to_owned(),
            ovs_remote: self.ovs.unix_remote(),
            dir,
        };
        ip(["-n", pod_ns, "link", "set", "eth0", "address", mac])?;
        ip(["-n", pod_ns, "addr", "add", ip_cidr, "dev", "eth0"])?;
        ip(["-n", pod_ns, "link", "set", "eth0", "up"])?;
        if let Some(gateway) = gateway {
            ip(["-n", pod_ns, "route", "add", "default", "via", gateway])?;
        }
        ip(["-n", chassis_ns, "link", "set", &host, "up"])?;
        pod.netns.exec(["ethtool", "-K", "eth0", "tx", "off"])?;
        self.netns.exec(["ethtool", "-K", &host, "tx", "off"])?;
        self.vsctl([
            "add-port",
            "br-int",
            &host,
            "--",
            "set",
            "Interface",
            &host,
            &format!("external_ids:iface-id={lsp}"),
        ])?;
        let what = format!("ovn-controller to install logical port {lsp} (ovn-installed)");
        crate::wait_until(DEFAULT_TIMEOUT, &what, || {
            self.vsctl([
                "--if-exists",
                "get",
                "Interface",
                &host,
                "external_ids:ovn-installed",
            ])
            .is_ok_and(|value| value.trim() == "\"true\"")
        })
        .map_err(|e| self.controller.with_log(e))?;
        Ok(pod)
    }

    /// Starts a long-running `program` with `args` and `env` inside the chassis namespace, as a
    /// node agent runs there (for example kube-ovn-daemon). It is killed before the chassis's
    /// own daemons when the chassis is dropped. Its output goes to `LABEL.console` in the
    /// chassis's scratch directory; returns that path.
    pub fn spawn<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &mut self,
        label: &str,
        program: &str,
        args: I,
        env: &[(&str, &str)],
    ) -> Result<std::path::PathBuf> {
        let prefix = ["ip", "netns", "exec", self.netns.name()];
        let mut command = process_command(&prefix, program, self.dir.path());
        command.args(args.into_iter().map(|a| a.as_ref().to_owned()));
        for (key, value) in env {
            command.env(key, value);
        }
        let log = self.dir.join(format!("{label}.log"));
        let mut daemon = Daemon::spawn(
            format!("{label} in chassis {}", self.name),
            command,
            &log,
            None,
        )?;
        daemon.check_running()?;
        self.processes.push(daemon);
        Ok(log.with_extension("console"))
    }

    /// Whether every process started with [`Chassis::spawn`] still runs; the error names the
    /// one that exited, with its output.
    pub fn check_spawned(&mut self) -> Result<()> {
        for process in &mut self.processes {
            process.check_running()?;
        }
        Ok(())
    }

    /// Waits until SB has a `Chassis` row with this chassis's name.
    pub fn wait_registered(&self) -> Result<()> {
        let what = format!("chassis {} to register in SB {}", self.name, self.sb_remote);
        crate::wait_until(DEFAULT_TIMEOUT, &what, || {
            self.registered_name().is_ok_and(|found| found == self.name)
        })
        .map_err(|e| self.controller.with_log(e))
    }

    /// The scratch directory holding the daemons' logs and sockets.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn registered_name(&self) -> Result<String> {
        let name = run_tool(
            "ovn-sbctl",
            self.dir.path(),
            [
                format!("--db={}", self.sb_remote),
                "--bare".to_owned(),
                "--columns=name".to_owned(),
                "find".to_owned(),
                "Chassis".to_owned(),
                format!("name={}", self.name),
            ],
        )?;
        let name = name.trim();
        if name.is_empty() {
            Err(Error::UnexpectedOutput {
                what: "ovn-sbctl find Chassis".to_owned(),
                output: "no such chassis".to_owned(),
            })
        } else {
            Ok(name.to_owned())
        }
    }
}

impl Drop for Chassis {
    fn drop(&mut self) {
        self.processes.clear();
        // A graceful exit makes ovn-controller delete its Chassis row, so an SB that outlives
        // the chassis is left as it was found.
        if !std::thread::panicking() {
            self.controller.stop();
        }
    }
}

/// A pod plugged into a [`Chassis`] by [`Chassis::add_pod`]: a namespace with `eth0` on
/// `br-int`. Dropping it stops what was started in it, removes its `br-int` port and deletes
/// the namespace (which deletes the veth pair).
#[derive(Debug)]
pub struct Pod {
    processes: Vec<Daemon>,
    netns: NetNamespace,
    host: String,
    lsp: String,
    ovs_remote: String,
    dir: ScratchDir,
}

impl Pod {
    /// The logical switch port the pod is bound to.
    pub fn lsp(&self) -> &str {
        &self.lsp
    }

    /// The pod's namespace.
    pub fn netns(&self) -> &NetNamespace {
        &self.netns
    }

    /// The host end of the veth pair: the `br-int` port, in the chassis namespace.
    pub fn host_interface(&self) -> &str {
        &self.host
    }

    /// Runs `args` (a program and its arguments) inside the pod and returns its stdout.
    pub fn exec<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.netns.exec(args)
    }

    /// Starts a long-running `program` with `args` inside the pod; it is killed when the pod is
    /// dropped. Its output goes to `LABEL.console` in the pod's scratch directory.
    pub fn spawn<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &mut self,
        label: &str,
        program: &str,
        args: I,
    ) -> Result<()> {
        let what = format!("{label} in pod {}", self.lsp);
        let daemon = spawn_in(&self.netns, &self.dir, label, what, program, args)?;
        self.processes.push(daemon);
        Ok(())
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        self.processes.clear();
        let _ = run_tool(
            "ovs-vsctl",
            self.dir.path(),
            [
                format!("--db={}", self.ovs_remote),
                "--no-wait".to_owned(),
                "--if-exists".to_owned(),
                "del-port".to_owned(),
                "br-int".to_owned(),
                self.host.clone(),
            ],
        );
    }
}

/// A pod sandbox as a container runtime makes one: a fresh [`NetNamespace`] with only `lo`, for
/// a CNI plugin to plug. Processes started in it are killed, and the namespace deleted, on
/// drop.
#[derive(Debug)]
pub struct PodSandbox {
    processes: Vec<Daemon>,
    netns: NetNamespace,
    dir: ScratchDir,
}

impl PodSandbox {
    /// Creates the namespace (`ovnp-PID-N`, loopback up).
    pub fn new() -> Result<Self> {
        Ok(PodSandbox {
            processes: Vec::new(),
            netns: NetNamespace::new("ovnp")?,
            dir: ScratchDir::new("sandbox")?,
        })
    }

    /// The namespace.
    pub fn netns(&self) -> &NetNamespace {
        &self.netns
    }

    /// The namespace's path, the runtime's `CNI_NETNS`.
    pub fn path(&self) -> std::path::PathBuf {
        Path::new("/run/netns").join(self.netns.name())
    }

    /// Runs `args` (a program and its arguments) inside the sandbox and returns its stdout.
    pub fn exec<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.netns.exec(args)
    }

    /// Starts a long-running `program` with `args` inside the sandbox; killed on drop. Its
    /// output goes to `LABEL.console` in the sandbox's scratch directory.
    pub fn spawn<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &mut self,
        label: &str,
        program: &str,
        args: I,
    ) -> Result<()> {
        let what = format!("{label} in sandbox {}", self.netns.name());
        let daemon = spawn_in(&self.netns, &self.dir, label, what, program, args)?;
        self.processes.push(daemon);
        Ok(())
    }
}

/// Starts `program` with `args` inside `netns`, logging to `LABEL.log` in `dir`, and checks
/// that it is running: what [`Pod::spawn`] and [`PodSandbox::spawn`] share.
fn spawn_in<I: IntoIterator<Item = S>, S: AsRef<str>>(
    netns: &NetNamespace,
    dir: &ScratchDir,
    label: &str,
    what: String,
    program: &str,
    args: I,
) -> Result<Daemon> {
    let prefix = ["ip", "netns", "exec", netns.name()];
    let mut command = process_command(&prefix, program, dir.path());
    command.args(args.into_iter().map(|a| a.as_ref().to_owned()));
    let log = dir.join(format!("{label}.log"));
    let mut daemon = Daemon::spawn(what, command, &log, None)?;
    daemon.check_running()?;
    Ok(daemon)
}
