//! A clustered (RAFT) database on loopback TCP.

use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Daemon, ScratchDir, daemon_command, run_tool};
use crate::{
    DEFAULT_TIMEOUT, ELECTION_TIMEOUT, Error, Result, Schema, free_tcp_port, require_tools,
};

/// The default election timer. OVS's default (1 s) makes followers start elections whenever a
/// loaded 2-core CI machine delays a heartbeat; 5 s does not flap, and a leader kill still
/// settles in about 5 to 10 s.
pub const DEFAULT_ELECTION_TIMER: Duration = Duration::from_secs(5);

const CLUSTER_ATTEMPTS: usize = 3;

/// Configures a [`RaftCluster`] before it starts.
#[derive(Debug)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct RaftClusterBuilder {
    schema: Schema,
    members: usize,
    election_timer: Duration,
}

impl RaftClusterBuilder {
    /// The number of members (default 3).
    pub fn members(mut self, members: usize) -> Self {
        self.members = members.max(1);
        self
    }

    /// The RAFT election timer (default [`DEFAULT_ELECTION_TIMER`]), set at creation with
    /// `ovsdb-tool --election-timer`; joining members learn it from the log.
    pub fn election_timer(mut self, timer: Duration) -> Self {
        self.election_timer = timer;
        self
    }

    /// Creates the cluster (`ovsdb-tool create-cluster` for the first member, `join-cluster`
    /// for the others), starts every member and returns once all have joined and one leads.
    pub fn start(self) -> Result<RaftCluster> {
        require_tools(&["ovsdb-server", "ovsdb-tool", "ovs-appctl", "setpriv"])?;
        let db_name = self.schema.database_name()?;
        let mut attempt = 1;
        loop {
            match self.try_start(&db_name) {
                Err(Error::AddressInUse { .. }) if attempt < CLUSTER_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    fn try_start(&self, db_name: &str) -> Result<RaftCluster> {
        let dir = ScratchDir::new(&format!("raft-{}", self.schema.label()))?;
        let members: Vec<Member> = (0..self.members)
            .map(|index| Member::new(&dir, index))
            .collect();
        let timer_ms = self.election_timer.as_millis().to_string();
        let schema_path = self.schema.path();
        run_tool(
            "ovsdb-tool",
            dir.path(),
            [
                format!("--election-timer={timer_ms}"),
                "create-cluster".to_owned(),
                members[0].db.display().to_string(),
                schema_path.display().to_string(),
                members[0].raft_address(),
            ],
        )?;
        for member in &members[1..] {
            run_tool(
                "ovsdb-tool",
                dir.path(),
                [
                    "join-cluster".to_owned(),
                    member.db.display().to_string(),
                    db_name.to_owned(),
                    member.raft_address(),
                    members[0].raft_address(),
                ],
            )?;
        }
        let mut cluster = RaftCluster {
            members,
            db_name: db_name.to_owned(),
            election_timer: self.election_timer,
            dir,
        };
        for index in 0..cluster.members.len() {
            cluster.start_member(index)?;
        }
        let what = format!(
            "all {} members of the {db_name} cluster to join",
            cluster.members.len()
        );
        crate::wait_until(ELECTION_TIMEOUT, &what, || {
            (0..cluster.members.len()).all(|i| {
                cluster
                    .status(i)
                    .is_ok_and(|s| s.status == "cluster member" && s.leader.is_some())
            })
        })
        .map_err(|e| cluster.with_logs(e))?;
        cluster.wait_for_leader(ELECTION_TIMEOUT)?;
        Ok(cluster)
    }
}

#[derive(Debug)]
struct Member {
    raft_port: u16,
    client_port: u16,
    db: PathBuf,
    socket: PathBuf,
    control: PathBuf,
    log: PathBuf,
    daemon: Option<Daemon>,
}

impl Member {
    fn new(dir: &ScratchDir, index: usize) -> Self {
        Member {
            raft_port: free_tcp_port(),
            client_port: free_tcp_port(),
            db: dir.join(format!("m{index}.db")),
            socket: dir.join(format!("m{index}.sock")),
            control: dir.join(format!("m{index}.ctl")),
            log: dir.join(format!("m{index}.log")),
            daemon: None,
        }
    }

    fn raft_address(&self) -> String {
        format!("tcp:127.0.0.1:{}", self.raft_port)
    }
}

/// A member's role in the RAFT cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It leads: writes go through it.
    Leader,
    /// It follows a leader (or waits for one).
    Follower,
    /// It is running an election.
    Candidate,
}

/// What `ovs-appctl cluster/status DB` says about one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// `Status:`, e.g. `cluster member`, `joining cluster`, `disconnected from the cluster`.
    pub status: String,
    /// `Role:`.
    pub role: Role,
    /// `Term:`.
    pub term: u64,
    /// `Leader:`: the leader's short server id, `self`, or `None` when unknown.
    pub leader: Option<String>,
    /// The whole output, for messages.
    pub raw: String,
}

impl MemberStatus {
    fn parse(raw: String) -> Option<Self> {
        let field = |name: &str| {
            raw.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_owned())
        };
        let role = match field("Role:")?.as_str() {
            "leader" => Role::Leader,
            "follower" => Role::Follower,
            "candidate" => Role::Candidate,
            _ => return None,
        };
        let leader = field("Leader:").filter(|leader| leader != "unknown");
        Some(MemberStatus {
            status: field("Status:")?,
            role,
            term: field("Term:")?.parse().ok()?,
            leader,
            raw,
        })
    }
}

/// A clustered database: N ovsdb-server members (default 3) replicating over loopback TCP, each
/// also serving clients on a unix socket and a loopback TCP port.
///
/// Members are addressed by index (0..N). [`RaftCluster::kill`] crashes one,
/// [`RaftCluster::restart`] brings it back on the same database file and ports. Heavy: name tests
/// using it `raft_…` so nextest runs them one at a time (see the crate docs).
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{RaftCluster, ELECTION_TIMEOUT};
/// let mut cluster = RaftCluster::nb()?;
/// let remote = cluster.remote(); // tcp:127.0.0.1:A,tcp:127.0.0.1:B,tcp:127.0.0.1:C
/// let old = cluster.wait_for_leader(ELECTION_TIMEOUT)?;
/// cluster.kill(old)?;
/// let new = cluster.wait_for_leader(ELECTION_TIMEOUT)?;
/// assert_ne!(old, new);
/// cluster.restart(old)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RaftCluster {
    members: Vec<Member>,
    db_name: String,
    election_timer: Duration,
    // Last, so the daemons are gone before their directory is deleted.
    dir: ScratchDir,
}

impl RaftCluster {
    /// A builder for a cluster of `schema`.
    pub fn builder(schema: Schema) -> RaftClusterBuilder {
        RaftClusterBuilder {
            schema,
            members: 3,
            election_timer: DEFAULT_ELECTION_TIMER,
        }
    }

    /// A 3-member OVN_Northbound cluster.
    pub fn nb() -> Result<Self> {
        Self::builder(Schema::Northbound).start()
    }

    /// A 3-member OVN_Southbound cluster.
    pub fn sb() -> Result<Self> {
        Self::builder(Schema::Southbound).start()
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a cluster has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The database name, e.g. `OVN_Northbound`.
    pub fn db_name(&self) -> &str {
        &self.db_name
    }

    /// The election timer the cluster was created with.
    pub fn election_timer(&self) -> Duration {
        self.election_timer
    }

    /// Every member's TCP remote, comma-separated, in member order:
    /// `tcp:127.0.0.1:A,tcp:127.0.0.1:B,tcp:127.0.0.1:C`.
    pub fn remote(&self) -> String {
        (0..self.len())
            .map(|i| self.tcp_remote_of(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Every member's unix remote, comma-separated, in member order.
    pub fn unix_remote(&self) -> String {
        (0..self.len())
            .map(|i| self.unix_remote_of(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Member `index`'s TCP remote, `tcp:127.0.0.1:PORT`.
    pub fn member_remote(&self, index: usize) -> Result<String> {
        self.member(index)?;
        Ok(self.tcp_remote_of(index))
    }

    /// Member `index`'s unix remote, `unix:PATH`.
    pub fn member_unix_remote(&self, index: usize) -> Result<String> {
        self.member(index)?;
        Ok(self.unix_remote_of(index))
    }

    /// Member `index`'s RAFT address, `tcp:127.0.0.1:PORT` (servers only; clients use
    /// [`RaftCluster::member_remote`]).
    pub fn member_raft_address(&self, index: usize) -> Result<String> {
        Ok(self.member(index)?.raft_address())
    }

    /// Member `index`'s process id, while it runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.members
            .get(index)
            .and_then(|m| m.daemon.as_ref())
            .and_then(Daemon::pid)
    }

    /// Whether member `index` runs.
    pub fn is_running(&mut self, index: usize) -> bool {
        self.members
            .get_mut(index)
            .and_then(|m| m.daemon.as_mut())
            .is_some_and(Daemon::is_running)
    }

    /// Member `index`'s view of the cluster (`ovs-appctl -t CTL cluster/status DB`).
    pub fn status(&self, index: usize) -> Result<MemberStatus> {
        let member = self.member(index)?;
        let raw = run_tool(
            "ovs-appctl",
            self.dir.path(),
            [
                "-t".to_owned(),
                member.control.display().to_string(),
                "cluster/status".to_owned(),
                self.db_name.clone(),
            ],
        )?;
        MemberStatus::parse(raw.clone()).ok_or(Error::UnexpectedOutput {
            what: format!("cluster/status of member {index}"),
            output: raw,
        })
    }

    /// The member that leads now, if any: among the running members that say they lead, the one
    /// with the highest term (a deposed leader may not know yet).
    pub fn leader(&self) -> Option<usize> {
        (0..self.len())
            .filter(|&i| self.members[i].daemon.is_some())
            .filter_map(|i| self.status(i).ok().map(|s| (i, s)))
            .filter(|(_, s)| s.role == Role::Leader && s.status == "cluster member")
            .max_by_key(|(_, s)| s.term)
            .map(|(i, _)| i)
    }

    /// Waits until some member leads, and returns its index.
    pub fn wait_for_leader(&self, timeout: Duration) -> Result<usize> {
        let what = format!("a leader in the {} cluster", self.db_name);
        crate::wait_for(timeout, &what, || self.leader()).map_err(|e| self.with_logs(e))
    }

    /// Kills member `index` with SIGKILL, as a crash would. Its database stays for
    /// [`RaftCluster::restart`].
    pub fn kill(&mut self, index: usize) -> Result<()> {
        if let Some(mut daemon) = self.member_mut(index)?.daemon.take() {
            daemon.kill();
        }
        Ok(())
    }

    /// Stops member `index` gracefully (`ovs-appctl exit`; a leader hands over leadership).
    pub fn stop(&mut self, index: usize) -> Result<()> {
        if let Some(mut daemon) = self.member_mut(index)?.daemon.take() {
            daemon.stop();
        }
        Ok(())
    }

    /// Starts member `index` again on its database file and ports, if it is not running, and
    /// waits until it serves clients and answers `cluster/status`. Whether it has rejoined a
    /// leader depends on the other members: use [`RaftCluster::wait_for_leader`].
    pub fn restart(&mut self, index: usize) -> Result<()> {
        if self.is_running(index) {
            return Ok(());
        }
        self.start_member(index)?;
        let what = format!("member {index} to answer cluster/status");
        crate::wait_until(DEFAULT_TIMEOUT, &what, || self.status(index).is_ok())
            .map_err(|e| self.with_logs(e))
    }

    /// Runs `ovn-nbctl --db=<all members> ARGS` (it finds the leader itself).
    pub fn nbctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.run_with_db("ovn-nbctl", args)
    }

    /// Runs `ovn-sbctl --db=<all members> ARGS`.
    pub fn sbctl<I: IntoIterator<Item = S>, S: AsRef<str>>(&self, args: I) -> Result<String> {
        self.run_with_db("ovn-sbctl", args)
    }

    /// Runs `ovsdb-client COMMAND unix:<member> ARGS` against one member.
    pub fn member_ovsdb_client<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        index: usize,
        command: &str,
        args: I,
    ) -> Result<String> {
        let remote = self.member_unix_remote(index)?;
        let all = [command.to_owned(), remote]
            .into_iter()
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool("ovsdb-client", self.dir.path(), all.collect::<Vec<_>>())
    }

    /// The scratch directory holding the members' databases, sockets and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Member `index`'s log file.
    pub fn log_path(&self, index: usize) -> Result<&Path> {
        Ok(&self.member(index)?.log)
    }

    fn run_with_db<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &self,
        program: &str,
        args: I,
    ) -> Result<String> {
        let all = std::iter::once(format!("--db={}", self.remote()))
            .chain(args.into_iter().map(|a| a.as_ref().to_owned()));
        run_tool(program, self.dir.path(), all.collect::<Vec<_>>())
    }

    fn member(&self, index: usize) -> Result<&Member> {
        let members = self.members.len();
        self.members
            .get(index)
            .ok_or(Error::NoSuchMember { index, members })
    }

    fn member_mut(&mut self, index: usize) -> Result<&mut Member> {
        let members = self.members.len();
        self.members
            .get_mut(index)
            .ok_or(Error::NoSuchMember { index, members })
    }

    fn tcp_remote_of(&self, index: usize) -> String {
        format!("tcp:127.0.0.1:{}", self.members[index].client_port)
    }

    fn unix_remote_of(&self, index: usize) -> String {
        format!("unix:{}", self.members[index].socket.display())
    }

    fn start_member(&mut self, index: usize) -> Result<()> {
        let dir = self.dir.path().to_path_buf();
        let member = self.member_mut(index)?;
        let mut command = daemon_command(&[], "ovsdb-server", &dir);
        command
            .arg(&member.db)
            .arg(format!("--unixctl={}", member.control.display()))
            .arg(format!("--log-file={}", member.log.display()))
            .arg(format!("--remote=punix:{}", member.socket.display()))
            .arg(format!("--remote=ptcp:{}:127.0.0.1", member.client_port));
        let name = format!("ovsdb-server raft member {index}");
        let mut daemon = Daemon::spawn(&name, command, &member.log, Some(member.control.clone()))?;
        daemon.wait_for_socket(&member.socket, DEFAULT_TIMEOUT)?;
        if daemon.log_since_start().contains("Address already in use") {
            daemon.kill();
            return Err(Error::AddressInUse {
                name,
                address: format!(
                    "{} or 127.0.0.1:{}",
                    member.raft_address(),
                    member.client_port
                ),
            });
        }
        let port = member.client_port;
        crate::wait_until(
            DEFAULT_TIMEOUT,
            &format!("{name} to accept TCP connections on port {port}"),
            || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
        )
        .map_err(|e| daemon.with_log(e))?;
        member.daemon = Some(daemon);
        Ok(())
    }

    /// Adds every running member's log tail to a timeout.
    fn with_logs(&self, err: Error) -> Error {
        self.members
            .iter()
            .filter_map(|m| m.daemon.as_ref())
            .fold(err, |err, daemon| daemon.with_log(err))
    }
}
