//! A standalone ovsdb-server for one schema.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pki::{CertificatePair, Pki};
use crate::process::{Daemon, ScratchDir, daemon_command, run_tool, tool_command};
use crate::{DEFAULT_TIMEOUT, Error, Result, free_tcp_port, require_tools};

/// Attempts at finding free ports before giving up (another process can take a port between
/// [`free_tcp_port`] and the daemon's bind).
const PORT_ATTEMPTS: usize = 5;

/// Which schema a database is created from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// `OVN_Northbound`, from `/usr/share/ovn/ovn-nb.ovsschema` (Debian `ovn-common`).
    Northbound,
    /// `OVN_Southbound`, from `/usr/share/ovn/ovn-sb.ovsschema`.
    Southbound,
    /// `Open_vSwitch`, from `/usr/share/openvswitch/vswitch.ovsschema` (Debian `openvswitch-common`).
    OpenVswitch,
    /// Any `.ovsschema` file.
    File(PathBuf),
}

impl Schema {
    /// The `.ovsschema` file.
    pub fn path(&self) -> PathBuf {
        match self {
            Schema::Northbound => "/usr/share/ovn/ovn-nb.ovsschema".into(),
            Schema::Southbound => "/usr/share/ovn/ovn-sb.ovsschema".into(),
            Schema::OpenVswitch => "/usr/share/openvswitch/vswitch.ovsschema".into(),
            Schema::File(path) => path.clone(),
        }
    }

    /// A short label used in file and directory names.
    pub fn label(&self) -> &'static str {
        match self {
            Schema::Northbound => "nb",
            Schema::Southbound => "sb",
            Schema::OpenVswitch => "ovs",
            Schema::File(_) => "db",
        }
    }

    /// The database name the schema declares (`ovsdb-tool schema-name`), e.g. `OVN_Northbound`.
    pub fn database_name(&self) -> Result<String> {
        let path = self.path();
        if !path.exists() {
            return Err(Error::io(
                format!("reading schema {}", path.display()),
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        let mut command = Command::new("ovsdb-tool");
        command.arg("schema-name").arg(&path);
        let name = crate::run(&mut command, DEFAULT_TIMEOUT)?.trim().to_owned();
        if name.is_empty() {
            return Err(Error::UnexpectedOutput {
                what: format!("ovsdb-tool schema-name {}", path.display()),
                output: name,
            });
        }
        Ok(name)
    }
}

/// The certificate files an `ssl:`/`pssl:` endpoint uses.
#[derive(Debug, Clone)]
pub(crate) struct SslFiles {
    pub(crate) own: CertificatePair,
    pub(crate) ca_certificate: PathBuf,
}

impl SslFiles {
    fn args(&self) -> [String; 3] {
        [
            format!("--private-key={}", self.own.private_key.display()),
            format!("--certificate={}", self.own.certificate.display()),
            format!("--ca-cert={}", self.ca_certificate.display()),
        ]
    }
}

/// Configures an [`OvsdbServer`] before it starts: which listeners, which certificates.
#[derive(Debug)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct OvsdbServerBuilder {
    schema: Schema,
    label: Option<String>,
    tcp: bool,
    ssl: Option<SslFiles>,
    extra_args: Vec<String>,
}

impl OvsdbServerBuilder {
    /// Also listen on `ptcp:PORT:127.0.0.1`, PORT a free port.
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }

    /// Also listen on `pssl:PORT:127.0.0.1` with the server certificate of `pki`, trusting
    /// clients signed by its CA. Keep the [`Pki`] alive as long as the server: a restart reads
    /// the files again.
    pub fn ssl(mut self, pki: &Pki) -> Self {
        self.ssl = Some(SslFiles {
            own: pki.server().clone(),
            ca_certificate: pki.ca_certificate().to_path_buf(),
        });
        self
    }

    /// Like [`OvsdbServerBuilder::ssl`], with explicit files: the server's own key and
    /// certificate, and the CA certificate that client certificates must chain to.
    pub fn ssl_files(mut self, own: CertificatePair, ca_certificate: impl Into<PathBuf>) -> Self {
        self.ssl = Some(SslFiles {
            own,
            ca_certificate: ca_certificate.into(),
        });
        self
    }

    /// A label for file names and messages (default: `nb`, `sb`, `ovs` or `db`).
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// An extra ovsdb-server argument, e.g. `-vjsonrpc:file:dbg`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Creates the database in a fresh scratch directory and starts the server; returns once it
    /// accepts connections on every listener.
    pub fn start(self) -> Result<OvsdbServer> {
        require_tools(&["ovsdb-server", "ovsdb-tool", "setpriv"])?;
        let label = self.label.unwrap_or_else(|| self.schema.label().to_owned());
        let db_name = self.schema.database_name()?;
        let dir = ScratchDir::new(&label)?;
        let db = dir.join(format!("{label}.db"));
        let schema_path = self.schema.path();
        run_tool(
            "ovsdb-tool",
            dir.path(),
            ["create".as_ref(), db.as_os_str(), schema_path.as_os_str()],
        )?;
        let mut server = OvsdbServer {
            socket: dir.join(format!("{label}.sock")),
            control: dir.join(format!("{label}.ctl")),
            log: dir.join(format!("{label}.log")),
            db,
            label,
            db_name,
            schema: self.schema,
            tcp_port: None,
            ssl_port: None,
            ssl: self.ssl,
            extra_args: self.extra_args,
            daemon: None,
            dir,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            server.tcp_port = self.tcp.then(free_tcp_port);
            server.ssl_port = server.ssl.is_some().then(free_tcp_port);
            match server.start() {
                Err(Error::AddressInUse { .. }) if attempt < PORT_ATTEMPTS => continue,
                Err(err) => return Err(err),
                Ok(()) => break,
            }
        }
        Ok(server)
    }
}

/// A standalone ovsdb-server serving one database from a scratch directory.
///
/// It always listens on a unix socket, and optionally on loopback TCP and SSL
/// ([`OvsdbServerBuilder::tcp`], [`OvsdbServerBuilder::ssl`]). [`OvsdbServer::stop`],
/// [`OvsdbServer::kill`] and [`OvsdbServer::start`] restart it on the same database file, socket
/// and ports, for reconnect tests. The process is killed and the directory deleted on drop.
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{OvsdbServer, Schema};
/// let mut nb = OvsdbServer::builder(Schema::Northbound).tcp().start()?;
/// nb.nbctl(["ls-add", "sw0"])?;
/// nb.kill()?; // crash it...
/// nb.start()?; // ...and bring it back: the data survives
/// assert!(nb.nbctl(["ls-list"])?.contains("sw0"));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct OvsdbServer {
    daemon: Option<Daemon>,
    label: String,
    db_name: String,
    schema: Schema,
    db: PathBuf,
    socket: PathBuf,
    control: PathBuf,
    log: PathBuf,
    tcp_port: Option<u16>,
    ssl_port: Option<u16>,
    ssl: Option<SslFiles>,
    extra_args: Vec<String>,
    // Last, so the daemon is gone before its directory is deleted.
    dir: ScratchDir,
}

impl OvsdbServer {
    /// A builder for a server of `schema`.
    pub fn builder(schema: Schema) -> OvsdbServerBuilder {
        OvsdbServerBuilder {
            schema,
            label: None,
            tcp: false,
            ssl: None,
            extra_args: Vec::new(),
        }
    }

    /// An OVN_Northbound server on a unix socket.
    pub fn nb() -> Result<Self> {
        Self::builder(Schema::Northbound).start()
    }

    /// An OVN_Southbound server on a unix socket.
    pub fn sb() -> Result<Self> {
        Self::builder(Schema::Southbound).start()
    }

    /// An Open_vSwitch server on a unix socket (no ovs-vswitchd: see [`Chassis`](crate::Chassis)).
    pub fn open_vswitch() -> Result<Self> {
        Self::builder(Schema::OpenVswitch).start()
    }

    /// `unix:PATH`, the remote every server has.
    pub fn unix_remote(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// Same as [`OvsdbServer::unix_remote`].
    pub fn remote(&self) -> String {
        self.unix_remote()
    }

    /// `tcp:127.0.0.1:PORT`, when built with [`OvsdbServerBuilder::tcp`].
    pub fn tcp_remote(&self) -> Option<String> {
        self.tcp_port.map(|port| format!("tcp:127.0.0.1:{port}"))
    }

    /// `ssl:127.0.0.1:PORT`, when built with [`OvsdbServerBuilder::ssl`].
    pub fn ssl_remote(&self) -> Option<String> {
        self.ssl_port.map(|port| format!("ssl:127.0.0.1:{port}"))
    }

    /// The TCP port, when built with [`OvsdbServerBuilder::tcp`].
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp_port
    }

    /// The SSL port, when built with [`OvsdbServerBuilder::ssl`].
    pub fn ssl_port(&self) -> Option<u16> {
        self.ssl_port
    }

    /// The database name, e.g. `OVN_Northbound`.
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// The schema the database was created from.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.as_ref().and_then(Daemon::pid)
    }

    /// Whether the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.daemon.as_mut().is_some_and(Daemon::is_running)
    }

    /// The scratch directory holding the database, sockets and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database file.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// The unix socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The unixctl control socket (`ovs-appctl -t PATH`).
    pub fn control_path(&self) -> &Path {
        &self.control
    }

    /// The server's log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log, for assertions or debugging.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts the server again after [`OvsdbServer::stop`] or [`OvsdbServer::kill`], on the same
    /// database file, socket and ports; returns once it accepts connections. Does nothing if it
    /// runs.
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let mut command = daemon_command(&[], "ovsdb-server", self.dir.path());
        command
            .arg(&self.db)
            .arg(format!("--unixctl={}", self.control.display()))
            .arg(format!("--log-file={}", self.log.display()))
            .arg(format!("--remote=punix:{}", self.socket.display()));
        if let Some(port) = self.tcp_port {
            command.arg(format!("--remote=ptcp:{port}:127.0.0.1"));
        }
        if let (Some(port), Some(ssl)) = (self.ssl_port, &self.ssl) {
            command.arg(format!("--remote=pssl:{port}:127.0.0.1"));
            command.args(ssl.args());
        }
        command.args(&self.extra_args);
        let name = format!("ovsdb-server {}", self.label);
        let mut daemon = Daemon::spawn(&name, command, &self.log, Some(self.control.clone()))?;
        daemon.wait_for_socket(&self.socket, DEFAULT_TIMEOUT)?;
        // ovsdb-server opens all its listeners before its main loop, and keeps running when one
        // fails to bind; so by now the log says whether every port is ours.
        if daemon.log_since_start().contains("Address already in use") {
            daemon.kill();
            let address = [self.tcp_port, self.ssl_port]
                .iter()
                .flatten()
                .map(|port| format!("127.0.0.1:{port}"))
                .collect::<Vec<_>>()
                .join(" or ");
            return Err(Error::AddressInUse { name, address });
        }
        for port in [self.tcp_port, self.ssl_port].into_iter().flatten() {
            crate::wait_until(
                DEFAULT_TIMEOUT,
                &format!("{name} to accept TCP connections on port {port}"),
                || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
            )
            .map_err(|e| daemon.with_log(e))?;
        }
        self.daemon = Some(daemon);
        Ok(())
    }

    /// Stops the server gracefully (`ovs-appctl exit`), keeping its database for
    /// [`OvsdbServer::start`].
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.stop();
        }
        Ok(())
    }

    /// Kills the server with SIGKILL, as a crash would, keeping its database for
    /// [`OvsdbServer::start`].
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut daemon) = self.daemon.take() {
            daemon.kill();
        }
        Ok(())
    }

    /// [`OvsdbServer::stop`] then [`OvsdbServer::start`].
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        self.start()
    }

    /// A command for `program` with the OVS/OVN directories confined to this fixture's
    /// directory, and no arguments yet: for tools the helpers below do not cover.
    pub fn command(&self, program: &str) -> Command {
        tool_command(program, self.dir.path())
    }

    /// Runs `ovn-nbctl --db=unix:… ARGS` and returns its stdout.
    pub fn nbctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.run_with_db("ovn-nbctl", &[], args)
    }

    /// Runs `ovn-sbctl --db=unix:… ARGS` and returns its stdout.
    pub fn sbctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.run_with_db("ovn-sbctl", &[], args)
    }

    /// Runs `ovs-vsctl --db=unix:… --no-wait ARGS` and returns its stdout (`--no-wait`: no
    /// ovs-vswitchd serves this database; [`Chassis::vsctl`](crate::Chassis::vsctl) waits).
    pub fn vsctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.run_with_db("ovs-vsctl", &["--no-wait"], args)
    }

    /// Runs `ovsdb-client COMMAND unix:… ARGS` (e.g. `("dump", ["OVN_Northbound"])`) and
    /// returns its stdout.
    pub fn ovsdb_client<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        command: &str,
        args: I,
    ) -> Result<String> {
        let remote = self.unix_remote();
        let all = [command.to_owned(), remote]
            .into_iter()
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool("ovsdb-client", self.dir.path(), all.collect::<Vec<_>>())
    }

    /// Runs `ovsdb-client transact unix:… TXN` (TXN a JSON array starting with the database
    /// name) and returns its stdout, the JSON result array.
    pub fn transact(&self, txn: &str) -> Result<String> {
        self.ovsdb_client("transact", [txn])
    }

    /// Runs `ovs-appctl -t CONTROL ARGS` against this server (e.g. `["ovsdb-server/compact"]`).
    pub fn appctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        let control = self.control.display().to_string();
        let all = ["-t".to_owned(), control]
            .into_iter()
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool("ovs-appctl", self.dir.path(), all.collect::<Vec<_>>())
    }

    fn run_with_db<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        program: &str,
        options: &[&str],
        args: I,
    ) -> Result<String> {
        let all = std::iter::once(format!("--db={}", self.unix_remote()))
            .chain(options.iter().map(|o| (*o).to_owned()))
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool(program, self.dir.path(), all.collect::<Vec<_>>())
    }
}
