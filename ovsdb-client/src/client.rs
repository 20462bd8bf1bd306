//! The connection to an OVSDB server or cluster, and every method a client can call.
//!
//! A [`Client`] is a cheap handle. A background task owns the connection: it connects to one of
//! the configured remotes, checks in `_Server.Database` that the server is usable (connected
//! to its cluster, the leader in leader-only mode, not behind a server already seen), sets up
//! the monitors and locks again, and only then lets requests through. When the connection
//! drops it reconnects with exponential backoff and jitter.
//!
//! Requests are multiplexed by id: any number can be in flight, each caller awaits its own
//! reply. A request in flight when the connection drops fails with
//! [`Error::ConnectionLost`]; it is never replayed, because the server may have executed it.
//! Every request is bounded ([`ClientConfig::request_timeout`], 60 s by default), waiting for a
//! connection included: one that runs out fails with [`Error::Timeout`] and is forgotten.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::atom::Uuid;
use crate::codec::DEFAULT_MAX_FRAME;
use crate::datum::Datum;
use crate::error::{Error, InvalidMessage};
use crate::operation::{Condition, Operation, OperationResult, Row, TransactReply};
use crate::remote::Remote;
use crate::replica::{Event, Replica};
use crate::schema::DatabaseSchema;
use crate::tls::{TlsConnector, TlsFiles};
use crate::update::{MonitorRequest, MonitorRequests, TableUpdates1};

mod conn;
mod monitor;

use conn::{Conn, ConnSettings, Dispatch, Handler};
pub use monitor::{MonitorMessage, MonitorMethod, TableChanges};
use monitor::{MonitorShared, MonitorState, Sink, Started};

/// How to reach and use a server or cluster.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The remotes to try, in order (shuffled when [`ClientConfig::shuffle_remotes`]).
    pub remotes: Vec<Remote>,
    /// Key, certificate and CA files for `ssl:` remotes.
    pub tls: Option<TlsFiles>,
    /// The database whose `_Server.Database` row decides whether a server is usable. Without
    /// it, any server that accepts the connection is used.
    pub database: Option<String>,
    /// Use only the leader of a clustered database (default true, as OVS's IDL).
    pub leader_only: bool,
    /// Shuffle the remotes, so clients spread over a cluster (default true).
    pub shuffle_remotes: bool,
    /// Send `echo` after this long without input and drop a peer silent for twice as long
    /// (default 5 s; `None` disables it).
    pub probe_interval: Option<Duration>,
    /// First delay before reconnecting after every remote failed (default 1 s).
    pub backoff_min: Duration,
    /// Largest delay between reconnect rounds (default 8 s).
    pub backoff_max: Duration,
    /// How long one connection attempt, handshake and setup included, may take (default 10 s).
    pub connect_timeout: Duration,
    /// How long [`Client::connect`] waits for the first usable server (default 30 s).
    pub initial_connect_timeout: Duration,
    /// Bound on each request, waiting for a connection included (default 60 s; `None` waits
    /// forever). A request that runs out fails with [`Error::Timeout`] and is forgotten (a
    /// `transact` is also cancelled on the server), so a late reply changes nothing. The
    /// connection itself is kept: a slow answer is not a dead peer (a `transact` may wait in a
    /// `wait` operation). A dead or stalled peer is what the inactivity probe
    /// ([`ClientConfig::probe_interval`]) detects: it drops the connection, failing what is in
    /// flight with [`Error::ConnectionLost`], and reconnects.
    pub request_timeout: Option<Duration>,
    /// Ask the server to cancel monitors instead of disconnecting when a database changes
    /// (`set_db_change_aware`, default true).
    pub db_change_aware: bool,
    /// Largest message accepted from the server (default 256 MiB).
    pub max_frame: usize,
}

impl ClientConfig {
    /// A configuration with OVS's defaults for a remote list such as
    /// `tcp:127.0.0.1:6641,tcp:127.0.0.2:6641`.
    pub fn new(remotes: &str) -> Result<Self, Error> {
        Ok(Self::with_remotes(Remote::parse_list(remotes)?))
    }

    /// A configuration with OVS's defaults for parsed remotes.
    pub fn with_remotes(remotes: Vec<Remote>) -> Self {
        ClientConfig {
            remotes,
            tls: None,
            database: None,
            leader_only: true,
            shuffle_remotes: true,
            probe_interval: Some(Duration::from_secs(5)),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(8),
            connect_timeout: Duration::from_secs(10),
            initial_connect_timeout: Duration::from_secs(30),
            request_timeout: Some(DEFAULT_REQUEST_TIMEOUT),
            db_change_aware: true,
            max_frame: DEFAULT_MAX_FRAME,
        }
    }

    /// Sets the TLS files for `ssl:` remotes.
    pub fn tls(
        mut self,
        private_key: impl Into<PathBuf>,
        certificate: impl Into<PathBuf>,
        ca_cert: impl Into<PathBuf>,
    ) -> Self {
        self.tls = Some(TlsFiles::new(private_key, certificate, ca_cert));
        self
    }

    /// Sets the database checked in `_Server.Database` (leader, connected, index).
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    /// Sets leader-only mode.
    pub fn leader_only(mut self, on: bool) -> Self {
        self.leader_only = on;
        self
    }

    /// Sets the reconnect backoff range.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Sets the inactivity probe interval (`None` disables probing).
    pub fn probe_interval(mut self, interval: Option<Duration>) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Sets the bound on each request (`None`: wait forever); see
    /// [`ClientConfig::request_timeout`].
    pub fn request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }
}

/// The default [`ClientConfig::request_timeout`]: far above any answer a healthy server
/// gives, well below "forever". Kube-OVN's controller gives its OVN requests the same.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether this client holds a lock (RFC 7047 section 4.1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockStatus {
    /// Requested; another client holds it. A `locked` notification will follow.
    Waiting,
    /// This client holds the lock.
    Held,
    /// Another client stole the lock; it is not requested any more.
    Stolen,
    /// The connection is down; the lock is requested again on the next connection.
    Disconnected,
}

/// The id of a request, for [`Client::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(pub u64);

/// A monitor's id, for [`Client::monitor_cond_change`] and [`Client::monitor_cancel`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MonitorId(String);

impl MonitorId {
    /// The id as sent to the server.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A running monitor: its initial contents and the stream of what follows.
#[derive(Debug)]
pub struct Monitor {
    /// The monitor's id.
    pub id: MonitorId,
    /// `monitor_cond_since` only: whether the server resumed from the given transaction id
    /// (`initial` then holds only the changes since).
    pub found: bool,
    /// `monitor_cond_since` only: the last transaction included.
    pub last_txn_id: Option<Uuid>,
    /// The rows present when the monitor started (or the changes since, when `found`).
    pub initial: TableChanges,
    /// Everything after `initial`, including restarts after reconnects. Unbounded: read it.
    pub updates: mpsc::UnboundedReceiver<MonitorMessage>,
}

/// A replica kept current by a monitor, across reconnects.
#[derive(Debug)]
pub struct Replicated {
    /// The monitor's id.
    pub id: MonitorId,
    /// The replica. Lock it briefly: the connection applies updates under the write lock.
    pub replica: Arc<RwLock<Replica>>,
    /// What changed, one batch per update (the initial contents first). After a reconnect
    /// that could not resume, the batch holds exactly the differences. Unbounded: read it, or
    /// drop it if events are not needed.
    pub events: mpsc::UnboundedReceiver<Vec<Event>>,
}

/// Where the client stands with its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// Connected and set up to this remote.
    Connected(Remote),
    /// Shut down.
    Shutdown,
}

struct Shared {
    config: ClientConfig,
    tls: Option<Arc<TlsConnector>>,
    next_id: AtomicU64,
    next_monitor: AtomicU64,
    /// The connection requests may use (set up, checked), if any.
    ready: watch::Sender<Option<Arc<Conn>>>,
    state: watch::Sender<ConnectionState>,
    monitors: Mutex<HashMap<String, Arc<MonitorShared>>>,
    locks: Mutex<BTreeMap<String, watch::Sender<LockStatus>>>,
    /// The `_Server.Database` rows seen on the current connection (by UUID).
    server_rows: Mutex<HashMap<Uuid, Row>>,
    /// The highest RAFT log index seen from any server; a server behind it is stale.
    max_index: Mutex<Option<i64>>,
    /// Why the last connection attempt failed, for [`Client::connect`] to report.
    last_error: Mutex<Option<Error>>,
    shutdown: CancellationToken,
}

/// Closes the client when the last [`Client`] handle is dropped.
struct Owner {
    shutdown: CancellationToken,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A handle on a connection to an OVSDB server or cluster. Clones share the connection; the
/// connection closes when the last clone is dropped or [`Client::shutdown`] is called.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("remotes", &self.shared.config.remotes)
            .finish_non_exhaustive()
    }
}

const SERVER_DB: &str = "_Server";
const SERVER_MONITOR_ID: &str = "_Server.Database";

impl Client {
    /// Starts a client and waits until it is connected to a usable server, up to
    /// [`ClientConfig::initial_connect_timeout`]; then the error of the last attempt is
    /// returned. Once connected, it keeps reconnecting in the background.
    pub async fn connect(config: ClientConfig) -> Result<Client, Error> {
        let limit = config.initial_connect_timeout;
        let client = Client::start(config)?;
        let wait = async {
            let mut ready = client.shared.ready.subscribe();
            loop {
                if ready.borrow_and_update().is_some() {
                    return Ok(());
                }
                if ready.changed().await.is_err() {
                    return Err(Error::Shutdown);
                }
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(r) => r.map(|()| client),
            Err(_) => {
                client.shutdown();
                let last = client
                    .shared
                    .last_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                Err(last.unwrap_or(Error::NotConnected))
            }
        }
    }

    /// Starts a client that connects in the background; requests wait for the connection.
    pub fn start(config: ClientConfig) -> Result<Client, Error> {
        if config.remotes.is_empty() {
            return Err(Error::InvalidRemote {
                remote: String::new(),
                reason: "no remote given".into(),
            });
        }
        let tls = match (&config.tls, config.remotes.iter().any(Remote::is_ssl)) {
            (Some(files), _) => Some(Arc::new(TlsConnector::from_files(files)?)),
            (None, true) => {
                return Err(Error::Tls(
                    "ssl: remotes need a private key, a certificate and a CA certificate".into(),
                ));
            }
            (None, false) => None,
        };
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            config,
            tls,
            next_id: AtomicU64::new(1),
            next_monitor: AtomicU64::new(1),
            ready: watch::Sender::new(None),
            state: watch::Sender::new(ConnectionState::Connecting),
            monitors: Mutex::new(HashMap::new()),
            locks: Mutex::new(BTreeMap::new()),
            server_rows: Mutex::new(HashMap::new()),
            max_index: Mutex::new(None),
            last_error: Mutex::new(None),
            shutdown: shutdown.clone(),
        });
        tokio::spawn(supervise(shared.clone()));
        Ok(Client {
            shared,
            _owner: Arc::new(Owner { shutdown }),
        })
    }

    /// Closes the connection and stops reconnecting; later requests fail with
    /// [`Error::Shutdown`].
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// The connection state, as a watch that changes on connect and disconnect.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// The remote currently connected to, if any.
    pub fn connected_remote(&self) -> Option<Remote> {
        self.shared
            .ready
            .borrow()
            .as_ref()
            .map(|c| c.remote.clone())
    }

    /// Drops the current connection (as a network failure would); the client reconnects.
    pub fn disconnect(&self) {
        if let Some(c) = self.shared.ready.borrow().as_ref() {
            c.close();
        }
    }

    fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    async fn ready_conn(&self) -> Result<Arc<Conn>, Error> {
        let mut rx = self.shared.ready.subscribe();
        loop {
            if let Some(c) = rx.borrow_and_update().clone()
                && !c.is_closed()
            {
                return Ok(c);
            }
            if self.shared.shutdown.is_cancelled() {
                return Err(Error::Shutdown);
            }
            tokio::select! {
                r = rx.changed() => r.map_err(|_| Error::Shutdown)?,
                _ = self.shared.shutdown.cancelled() => return Err(Error::Shutdown),
            }
        }
    }

    async fn bounded<T>(
        &self,
        method: &str,
        f: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match self.shared.config.request_timeout {
            None => f.await,
            Some(t) => tokio::time::timeout(t, f)
                .await
                .map_err(|_| Error::Timeout {
                    method: method.to_owned(),
                    timeout: t,
                })?,
        }
    }

    /// Sends any request and returns its raw result: the escape hatch for methods and
    /// extensions this client has no typed call for.
    pub async fn call(
        &self,
        method: &'static str,
        params: &impl Serialize,
    ) -> Result<Box<RawValue>, Error> {
        self.bounded(method, async {
            let conn = self.ready_conn().await?;
            let id = self.next_id();
            let guard = ForgetOnDrop {
                conn: Arc::downgrade(&conn),
                id,
                done: false,
                cancel: false,
            };
            let r = conn::call_raw(&conn, id, method, params).await;
            guard.finish();
            r
        })
        .await
    }

    async fn call_typed<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: &impl Serialize,
    ) -> Result<T, Error> {
        let raw = self.call(method, params).await?;
        serde_json::from_str(raw.get()).map_err(|e| {
            Error::InvalidMessage(InvalidMessage::UnexpectedReply {
                method: method.to_owned(),
                detail: e.to_string(),
            })
        })
    }

    /// `list_dbs`: the databases the server holds.
    pub async fn list_dbs(&self) -> Result<Vec<String>, Error> {
        self.call_typed("list_dbs", &[0u8; 0]).await
    }

    /// `get_schema`: a database's schema as the server sent it (for byte-exact output).
    pub async fn get_schema_json(&self, db: &str) -> Result<Box<RawValue>, Error> {
        self.call("get_schema", &[db]).await
    }

    /// `get_schema`: a database's schema.
    pub async fn get_schema(&self, db: &str) -> Result<DatabaseSchema, Error> {
        let raw = self.get_schema_json(db).await?;
        Ok(DatabaseSchema::from_json_str(raw.get())?)
    }

    /// `echo`: the server returns the params.
    pub async fn echo(
        &self,
        params: Vec<serde_json::Value>,
    ) -> Result<Vec<serde_json::Value>, Error> {
        self.call_typed("echo", &params).await
    }

    /// `get_server_id`: the server's id, unique per process run.
    pub async fn get_server_id(&self) -> Result<Uuid, Error> {
        self.call_typed("get_server_id", &[0u8; 0]).await
    }

    /// `set_db_change_aware`: whether the server cancels monitors (true) or disconnects
    /// (false) when a database changes. The client enables it on each connection by default.
    pub async fn set_db_change_aware(&self, aware: bool) -> Result<(), Error> {
        self.call("set_db_change_aware", &[aware]).await.map(drop)
    }

    /// `transact`: runs the operations atomically. Fails with [`Error::OperationFailed`] when
    /// any operation (or the commit) failed, naming the first failure.
    pub async fn transact(
        &self,
        db: &str,
        operations: &[Operation],
    ) -> Result<Vec<OperationResult>, Error> {
        self.transact_reply(db, operations).await?.into_result()
    }

    /// `transact`, returning the whole reply, failed operations included.
    pub async fn transact_reply(
        &self,
        db: &str,
        operations: &[Operation],
    ) -> Result<TransactReply, Error> {
        let pending = self.start_transact(db, operations).await?;
        pending.await
    }

    /// Sends a `transact` and returns once it is on its way: the [`PendingTransact`] gives
    /// the request id for [`Client::cancel`] and resolves to the reply. Dropping it before the
    /// reply cancels the request on the server.
    pub async fn start_transact(
        &self,
        db: &str,
        operations: &[Operation],
    ) -> Result<PendingTransact, Error> {
        let conn = self.bounded("transact", self.ready_conn()).await?;
        let id = self.next_id();
        let params = TransactParams { db, operations };
        let bytes = crate::rpc::encode_request("transact", &params, id)?;
        let (tx, rx) = oneshot::channel();
        conn.send_request(
            id,
            "transact",
            bytes,
            Box::new(move |r| {
                let _ = tx.send(r.and_then(|raw| {
                    serde_json::from_str::<TransactReply>(raw.get()).map_err(|e| {
                        Error::InvalidMessage(InvalidMessage::UnexpectedReply {
                            method: "transact".into(),
                            detail: e.to_string(),
                        })
                    })
                }));
            }),
        )?;
        let timeout = self
            .shared
            .config
            .request_timeout
            .map(|t| (Box::pin(tokio::time::sleep(t)), t));
        Ok(PendingTransact {
            id: RequestId(id),
            rx,
            guard: ForgetOnDrop {
                conn: Arc::downgrade(&conn),
                id,
                done: false,
                cancel: true,
            },
            timeout,
        })
    }

    /// `cancel`: asks the server to abandon a request in flight (a `transact` blocked in a
    /// `wait`); the request then fails with the server's `canceled` error.
    pub async fn cancel(&self, id: RequestId) -> Result<(), Error> {
        let conn = self.ready_conn().await?;
        conn.send_raw(crate::rpc::encode_notification("cancel", &[id.0])?);
        Ok(())
    }

    /// `monitor`: the rows selected now, then `update` notifications (old and new values).
    pub async fn monitor(&self, db: &str, requests: MonitorRequests) -> Result<Monitor, Error> {
        self.start_monitor(db, requests, MonitorMethod::Monitor, None)
            .await
    }

    /// `monitor_cond`: like `monitor` with conditions, then `update2` notifications (diffs).
    pub async fn monitor_cond(
        &self,
        db: &str,
        requests: MonitorRequests,
    ) -> Result<Monitor, Error> {
        self.start_monitor(db, requests, MonitorMethod::MonitorCond, None)
            .await
    }

    /// `monitor_cond_since`: resumes from `last_txn_id` when the server still has it
    /// (`found`, and `initial` holds only the changes since), else starts from the full
    /// contents; then `update3` notifications. After a reconnect the client resumes the
    /// same way from the last transaction it saw.
    pub async fn monitor_cond_since(
        &self,
        db: &str,
        requests: MonitorRequests,
        last_txn_id: Option<Uuid>,
    ) -> Result<Monitor, Error> {
        self.start_monitor(db, requests, MonitorMethod::MonitorCondSince, last_txn_id)
            .await
    }

    async fn start_monitor(
        &self,
        db: &str,
        requests: MonitorRequests,
        method: MonitorMethod,
        last: Option<Uuid>,
    ) -> Result<Monitor, Error> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (id, started) = self
            .register_monitor(db, requests, method, false, last, Sink::Raw(tx))
            .await?;
        Ok(Monitor {
            id,
            found: started.found,
            last_txn_id: started.last_txn_id,
            initial: started.initial.unwrap_or(TableChanges::V2(BTreeMap::new())),
            updates: rx,
        })
    }

    /// Monitors `requests` (every table of the schema when empty) into a [`Replica`] that
    /// stays current across reconnects, using `monitor_cond_since` when the server has it
    /// (then `monitor_cond`, then `monitor`). Returns once the initial contents are loaded.
    pub async fn replicate(
        &self,
        db: &str,
        requests: MonitorRequests,
    ) -> Result<Replicated, Error> {
        let schema = Arc::new(self.get_schema(db).await?);
        self.replicate_with_schema(db, schema, requests).await
    }

    /// [`Client::replicate`] with a schema already at hand.
    pub async fn replicate_with_schema(
        &self,
        db: &str,
        schema: Arc<DatabaseSchema>,
        mut requests: MonitorRequests,
    ) -> Result<Replicated, Error> {
        if requests.is_empty() {
            requests = schema
                .tables
                .keys()
                .map(|t| (t.clone(), MonitorRequest::all()))
                .collect();
        }
        let replica = Arc::new(RwLock::new(Replica::new(schema)));
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = Sink::Replica {
            replica: replica.clone(),
            events: tx,
        };
        let (id, _) = self
            .register_monitor(
                db,
                requests,
                MonitorMethod::MonitorCondSince,
                true,
                None,
                sink,
            )
            .await?;
        Ok(Replicated {
            id,
            replica,
            events: rx,
        })
    }

    async fn register_monitor(
        &self,
        db: &str,
        requests: MonitorRequests,
        method: MonitorMethod,
        fallback: bool,
        last_txn_id: Option<Uuid>,
        sink: Sink,
    ) -> Result<(MonitorId, Started), Error> {
        let id = format!(
            "m{}",
            self.shared.next_monitor.fetch_add(1, Ordering::Relaxed)
        );
        let m = Arc::new(MonitorShared {
            id: id.clone(),
            db: db.to_owned(),
            state: Mutex::new(MonitorState {
                requests,
                method,
                fallback,
                active_method: method,
                last_txn_id,
                cond_changes_in_flight: 0,
                schema_stale: false,
                sink,
            }),
            loaded: AtomicBool::new(false),
        });
        // A replica outlives connections: when the connection drops before its first reply,
        // the monitor stays registered and loads on the next connection (set-up re-establishes
        // every registered monitor, or, if it missed this one, the loop below does).
        let survives_drops = matches!(m.lock().sink, Sink::Replica { .. });
        let result = self
            .bounded(method.name(), async {
                let mut conn = self.ready_conn().await?;
                // Registered before the request goes out, so its first notification finds it.
                self.shared
                    .monitors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.clone(), m.clone());
                loop {
                    match establish_monitor(&self.shared, &conn, &m, true).await {
                        Err(e) if survives_drops && e.is_retryable() => {
                            tracing::debug!(db = %m.db, "connection lost before the first monitor reply: {e}");
                            conn = self.ready_conn().await?;
                            if m.loaded.load(Ordering::Acquire) {
                                let st = m.lock();
                                return Ok(Started {
                                    found: false,
                                    last_txn_id: st.last_txn_id,
                                    initial: None,
                                });
                            }
                        }
                        other => return other,
                    }
                }
            })
            .await;
        match result {
            Ok(started) => Ok((MonitorId(id), started)),
            Err(e) => {
                self.shared
                    .monitors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
                Err(e)
            }
        }
    }

    fn find_monitor(&self, id: &MonitorId) -> Result<Arc<MonitorShared>, Error> {
        self.shared
            .monitors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id.0)
            .cloned()
            .ok_or_else(|| Error::InvalidValue {
                table: String::new(),
                column: String::new(),
                reason: format!("no monitor {}", id.0),
            })
    }

    /// `monitor_cond_change`: replaces the conditions of some tables of a
    /// `monitor_cond`/`monitor_cond_since` monitor (ovsdb-server cannot change columns). Rows
    /// that start or stop matching arrive as updates on the monitor's stream (or in its
    /// replica). If the connection drops before the reply, the monitor restarts from a full
    /// dump instead of resuming, since the server may or may not have applied the change.
    pub async fn monitor_cond_change(
        &self,
        id: &MonitorId,
        conditions: BTreeMap<String, Vec<Condition>>,
    ) -> Result<(), Error> {
        let m = self.find_monitor(id)?;
        self.bounded("monitor_cond_change", async {
            let conn = self.ready_conn().await?;
            let rid = self.next_id();
            #[derive(Serialize)]
            struct CondUpdate<'a> {
                #[serde(rename = "where")]
                conditions: &'a [Condition],
            }
            // ovsdb-server wants an array of monitor-cond-update requests per table.
            let per_table: BTreeMap<&String, [CondUpdate<'_>; 1]> = conditions
                .iter()
                .map(|(t, c)| (t, [CondUpdate { conditions: c }]))
                .collect();
            let bytes = crate::rpc::encode_request(
                "monitor_cond_change",
                &(&m.id, &m.id, &per_table),
                rid,
            )?;
            {
                let mut st = m.lock();
                for (table, conds) in &conditions {
                    st.requests.entry(table.clone()).or_default().conditions = Some(conds.clone());
                }
                st.cond_changes_in_flight += 1;
            }
            let (tx, rx) = oneshot::channel();
            let m2 = m.clone();
            let handler: Handler = Box::new(move |r| {
                match &r {
                    Ok(_) | Err(Error::Server(_)) => {
                        let mut st = m2.lock();
                        st.cond_changes_in_flight = st.cond_changes_in_flight.saturating_sub(1);
                    }
                    Err(_) => m2.connection_lost(),
                }
                let _ = tx.send(r.map(drop));
            });
            if let Err(e) = conn.send_request(rid, "monitor_cond_change", bytes, handler) {
                m.connection_lost();
                return Err(e);
            }
            rx.await.map_err(|_| Error::ConnectionLost {
                method: "monitor_cond_change".into(),
            })?
        })
        .await
    }

    /// `monitor_cancel`: stops a monitor; its stream ends.
    pub async fn monitor_cancel(&self, id: &MonitorId) -> Result<(), Error> {
        let removed = self
            .shared
            .monitors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id.0);
        if removed.is_none() {
            return Err(Error::InvalidValue {
                table: String::new(),
                column: String::new(),
                reason: format!("no monitor {}", id.0),
            });
        }
        match self.call("monitor_cancel", &[&id.0]).await {
            // Not connected: there is nothing to cancel on the server.
            Ok(_) | Err(Error::ConnectionLost { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `lock`: requests a lock. The watch says when it is held; after a reconnect the
    /// client requests it again.
    pub async fn lock(&self, name: &str) -> Result<watch::Receiver<LockStatus>, Error> {
        self.lock_request("lock", name).await
    }

    /// `steal`: takes a lock from whoever holds it.
    pub async fn steal(&self, name: &str) -> Result<watch::Receiver<LockStatus>, Error> {
        self.lock_request("steal", name).await
    }

    async fn lock_request(
        &self,
        method: &'static str,
        name: &str,
    ) -> Result<watch::Receiver<LockStatus>, Error> {
        let status = {
            let mut locks = self.shared.locks.lock().unwrap_or_else(|e| e.into_inner());
            locks
                .entry(name.to_owned())
                .or_insert_with(|| watch::Sender::new(LockStatus::Waiting))
                .clone()
        };
        let rx = status.subscribe();
        self.bounded(method, async {
            let conn = self.ready_conn().await?;
            request_lock(&self.shared, &conn, method, name, status).await
        })
        .await?;
        Ok(rx)
    }

    /// `unlock`: releases (or stops waiting for) a lock.
    pub async fn unlock(&self, name: &str) -> Result<(), Error> {
        self.shared
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.call("unlock", &[name]).await.map(drop)
    }
}

/// Serializes `[db, op, op, ...]` without copying the operations.
struct TransactParams<'a> {
    db: &'a str,
    operations: &'a [Operation],
}

impl Serialize for TransactParams<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(1 + self.operations.len()))?;
        seq.serialize_element(self.db)?;
        for op in self.operations {
            seq.serialize_element(op)?;
        }
        seq.end()
    }
}

/// Removes a request from its connection when the caller stops waiting, optionally asking the
/// server to cancel it.
struct ForgetOnDrop {
    conn: Weak<Conn>,
    id: u64,
    done: bool,
    cancel: bool,
}

impl ForgetOnDrop {
    fn finish(mut self) {
        self.done = true;
    }

    /// Forgets the request now (and asks the server to cancel it, if so configured).
    fn forget(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        if let Some(conn) = self.conn.upgrade()
            && conn.forget(self.id)
            && self.cancel
            && let Ok(bytes) = crate::rpc::encode_notification("cancel", &[self.id])
        {
            conn.send_raw(bytes);
        }
    }
}

impl Drop for ForgetOnDrop {
    fn drop(&mut self) {
        self.forget();
    }
}

/// A `transact` on its way: await it for the reply.
pub struct PendingTransact {
    /// The request's id, for [`Client::cancel`].
    pub id: RequestId,
    rx: oneshot::Receiver<Result<TransactReply, Error>>,
    guard: ForgetOnDrop,
    timeout: Option<(Pin<Box<tokio::time::Sleep>>, Duration)>,
}

impl std::fmt::Debug for PendingTransact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTransact")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Future for PendingTransact {
    type Output = Result<TransactReply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(r) = Pin::new(&mut self.rx).poll(cx) {
            self.guard.done = true;
            return Poll::Ready(r.unwrap_or_else(|_| {
                Err(Error::ConnectionLost {
                    method: "transact".into(),
                })
            }));
        }
        if let Some((sleep, limit)) = self.timeout.as_mut()
            && sleep.as_mut().poll(cx).is_ready()
        {
            let timeout = *limit;
            // Forgotten and cancelled on the server now, not when the caller drops this
            // future: a reply arriving later finds no request and is dropped.
            self.guard.forget();
            return Poll::Ready(Err(Error::Timeout {
                method: "transact".into(),
                timeout,
            }));
        }
        Poll::Pending
    }
}

/// Sends a lock request on `conn`; the reply handler updates the status in wire order.
async fn request_lock(
    shared: &Arc<Shared>,
    conn: &Conn,
    method: &'static str,
    name: &str,
    status: watch::Sender<LockStatus>,
) -> Result<(), Error> {
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let bytes = crate::rpc::encode_request(method, &[name], id)?;
    let (tx, rx) = oneshot::channel();
    conn.send_request(
        id,
        method,
        bytes,
        Box::new(move |r| {
            let r = r.and_then(|raw| {
                #[derive(serde::Deserialize)]
                struct Locked {
                    locked: bool,
                }
                let l: Locked = serde_json::from_str(raw.get()).map_err(|e| {
                    Error::InvalidMessage(InvalidMessage::UnexpectedReply {
                        method: method.to_owned(),
                        detail: e.to_string(),
                    })
                })?;
                status.send_replace(if l.locked {
                    LockStatus::Held
                } else {
                    LockStatus::Waiting
                });
                Ok(())
            });
            let _ = tx.send(r);
        }),
    )?;
    rx.await.map_err(|_| Error::ConnectionLost {
        method: method.to_owned(),
    })?
}

/// Sends a monitor's (re)creation request on `conn` and waits until its reply is applied.
/// Falls back to older monitor methods when the server does not know the newer one.
async fn establish_monitor(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    m: &Arc<MonitorShared>,
    first: bool,
) -> Result<Started, Error> {
    let (mut method, fallback) = {
        let st = m.lock();
        (st.method, st.fallback)
    };
    loop {
        let params = m.request_params(method)?;
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let bytes = crate::rpc::encode_request(method.name(), &params, id)?;
        let (tx, rx) = oneshot::channel();
        let m2 = m.clone();
        conn.send_request(
            id,
            method.name(),
            bytes,
            Box::new(move |r| {
                let _ = tx.send(r.and_then(|raw| m2.apply_reply(method, raw, first)));
            }),
        )?;
        // A caller that gives up (its request timed out) leaves no handler behind: a late
        // reply must not load a monitor that was never returned.
        let guard = ForgetOnDrop {
            conn: Arc::downgrade(conn),
            id,
            done: false,
            cancel: false,
        };
        let r = rx.await.map_err(|_| Error::ConnectionLost {
            method: method.name().into(),
        });
        guard.finish();
        let r = r?;
        match r {
            Err(Error::Server(e)) if fallback && e.error == "unknown method" => {
                match method.fallback() {
                    Some(older) => {
                        tracing::debug!(db = %m.db, "server lacks {}, trying {}", method.name(), older.name());
                        method = older;
                    }
                    None => return Err(Error::Server(e)),
                }
            }
            other => return other,
        }
    }
}

/// What the `_Server.Database` row of the configured database says about a server.
fn judge_server(shared: &Shared, remote: &Remote) -> Result<(), Error> {
    let Some(db) = shared.config.database.as_deref() else {
        return Ok(());
    };
    let reject = |reason: String| {
        Err(Error::ServerRejected {
            remote: remote.to_string(),
            reason,
        })
    };
    let rows = shared.server_rows.lock().unwrap_or_else(|e| e.into_inner());
    let Some(row) = rows.values().find(|r| {
        r.get("name")
            .and_then(Datum::as_scalar)
            .and_then(|a| a.as_str())
            == Some(db)
    }) else {
        return reject(format!("it has no database {db}"));
    };
    let text = |c: &str| {
        row.get(c)
            .and_then(Datum::as_scalar)
            .and_then(|a| a.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let flag = |c: &str| {
        row.get(c)
            .and_then(Datum::as_scalar)
            .and_then(|a| a.as_bool())
            .unwrap_or(false)
    };
    if text("model") != "clustered" {
        return Ok(());
    }
    if !flag("connected") {
        return reject(format!("its copy of {db} is not connected to the cluster"));
    }
    if shared.config.leader_only && !flag("leader") {
        return reject(format!("it is not the leader of {db}"));
    }
    let index = row
        .get("index")
        .and_then(|d| d.as_set().first())
        .and_then(|a| a.as_integer());
    if let Some(index) = index {
        let mut max = shared.max_index.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seen) = *max
            && index < seen
        {
            return reject(format!(
                "its log index {index} of {db} is behind {seen}, already seen elsewhere"
            ));
        }
        *max = Some(index);
    }
    Ok(())
}

/// Applies `_Server.Database` changes (monitor v1 form) to the rows kept for judging.
fn apply_server_rows(shared: &Shared, raw: &RawValue) -> Result<(), Error> {
    let updates: TableUpdates1 = serde_json::from_str(raw.get())?;
    let mut rows = shared.server_rows.lock().unwrap_or_else(|e| e.into_inner());
    for (uuid, u) in updates.into_values().flatten() {
        match u.new {
            Some(new) => {
                let entry = rows.entry(uuid).or_default();
                entry.extend(new);
            }
            None => {
                rows.remove(&uuid);
            }
        }
    }
    Ok(())
}

struct Dispatcher {
    shared: Weak<Shared>,
}

impl Dispatch for Dispatcher {
    fn notification(&self, conn: &Arc<Conn>, method: &str, params: &RawValue) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if let Err(e) = dispatch_notification(&shared, conn, method, params) {
            tracing::warn!(remote = %conn.remote, %method, "bad notification: {e}");
        }
    }
}

fn dispatch_notification(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    method: &str,
    params: &RawValue,
) -> Result<(), Error> {
    let parts: Vec<&RawValue> = serde_json::from_str(params.get())?;
    let first = |what: &str| -> Result<String, Error> {
        let p = parts
            .first()
            .ok_or_else(|| InvalidMessage::NotJsonRpc(format!("{method} without {what}")))?;
        serde_json::from_str::<String>(p.get())
            .map_err(|e| InvalidMessage::NotJsonRpc(format!("{method} {what}: {e}")).into())
    };
    match method {
        "update" | "update2" | "update3" => {
            let id = first("monitor id")?;
            if id == SERVER_MONITOR_ID {
                if let [_, u] = parts.as_slice() {
                    apply_server_rows(shared, u)?;
                }
                if let Err(e) = judge_server(shared, &conn.remote) {
                    tracing::info!("leaving server: {e}");
                    conn.close();
                }
                return Ok(());
            }
            let m = shared
                .monitors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&id)
                .cloned();
            match m {
                Some(m) => m.apply_notification(method, &parts[1..]),
                // A monitor cancelled while its update was on the wire.
                None => Ok(()),
            }
        }
        "locked" | "stolen" => {
            let name = first("lock name")?;
            let locks = shared.locks.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = locks.get(&name) {
                s.send_replace(if method == "locked" {
                    LockStatus::Held
                } else {
                    LockStatus::Stolen
                });
            }
            drop(locks);
            if method == "stolen" {
                // A stolen lock is no longer requested (RFC 7047 section 4.1.10).
                shared
                    .locks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&name);
            }
            Ok(())
        }
        "monitor_canceled" => {
            // The database was removed or replaced: monitors cannot resume; reconnecting sets
            // them up afresh against what the server has now.
            let id = first("monitor id")?;
            tracing::info!(monitor = %id, "server canceled the monitor; reconnecting");
            let monitors = shared.monitors.lock().unwrap_or_else(|e| e.into_inner());
            let db = monitors.get(&id).map(|m| m.db.clone());
            for m in monitors.values() {
                let mut st = m.lock();
                st.last_txn_id = None;
                // The database was converted or replaced: its schema may differ now.
                if db.as_deref().is_none_or(|d| d == m.db) {
                    st.schema_stale = true;
                }
            }
            conn.close();
            Ok(())
        }
        other => Err(InvalidMessage::UnknownNotification(other.to_owned()).into()),
    }
}

/// Fetches the schema of every database whose monitors the server canceled, moves replicas to
/// it, and drops from the monitor requests what the new schema no longer has.
async fn refresh_stale_schemas(
    shared: &Arc<Shared>,
    conn: &Arc<Conn>,
    monitors: &[Arc<MonitorShared>],
) -> Result<(), Error> {
    let mut fetched: HashMap<String, Arc<DatabaseSchema>> = HashMap::new();
    for m in monitors {
        if !m.lock().schema_stale {
            continue;
        }
        let schema = match fetched.get(&m.db) {
            Some(s) => s.clone(),
            None => {
                let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
                let raw = conn::call_raw(conn, id, "get_schema", &[&m.db]).await?;
                let schema = Arc::new(DatabaseSchema::from_json_str(raw.get())?);
                tracing::info!(db = %m.db, version = %schema.version, "database schema changed");
                fetched.insert(m.db.clone(), schema.clone());
                schema
            }
        };
        let mut st = m.lock();
        st.requests.retain(|table, request| {
            let Some(t) = schema.tables.get(table) else {
                return false;
            };
            if let Some(columns) = &mut request.columns {
                columns.retain(|c| t.columns.contains_key(c) || c == "_version" || c == "_uuid");
            }
            true
        });
        if let Sink::Replica { replica, events } = &st.sink {
            let ev = replica
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .change_schema(schema.clone());
            if !ev.is_empty() {
                let _ = events.send(ev);
            }
        }
        st.schema_stale = false;
    }
    Ok(())
}

/// Opens a connection to `remote` and sets it up: change awareness, the `_Server` check,
/// monitors and locks.
async fn establish(
    shared: &Arc<Shared>,
    remote: &Remote,
) -> Result<(Arc<Conn>, tokio::task::JoinHandle<()>), Error> {
    let transport = remote.connect(shared.tls.as_ref()).await?;
    let ids_shared = Arc::downgrade(shared);
    let ids: Arc<dyn Fn() -> u64 + Send + Sync> = Arc::new(move || {
        ids_shared
            .upgrade()
            .map(|s| s.next_id.fetch_add(1, Ordering::Relaxed))
            .unwrap_or(0)
    });
    let settings = ConnSettings {
        probe_interval: shared.config.probe_interval,
        max_frame: shared.config.max_frame,
    };
    let dispatch = Arc::new(Dispatcher {
        shared: Arc::downgrade(shared),
    });
    let (conn, reader) = conn::start(transport, remote.clone(), settings, ids, dispatch);
    match set_up(shared, &conn).await {
        Ok(()) => Ok((conn, reader)),
        Err(e) => {
            conn.close();
            let _ = reader.await;
            Err(e)
        }
    }
}

async fn set_up(shared: &Arc<Shared>, conn: &Arc<Conn>) -> Result<(), Error> {
    let next = || shared.next_id.fetch_add(1, Ordering::Relaxed);
    if shared.config.db_change_aware {
        match conn::call_raw(conn, next(), "set_db_change_aware", &[true]).await {
            Ok(_) | Err(Error::Server(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if shared.config.database.is_some() {
        shared
            .server_rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let columns = ["name", "model", "connected", "leader", "index"];
        let requests: MonitorRequests =
            [("Database".to_owned(), MonitorRequest::columns(columns))].into();
        let raw = conn::call_raw(
            conn,
            next(),
            "monitor",
            &(SERVER_DB, SERVER_MONITOR_ID, &requests),
        )
        .await?;
        apply_server_rows(shared, &raw)?;
        judge_server(shared, &conn.remote)?;
    }
    let monitors: Vec<Arc<MonitorShared>> = shared
        .monitors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect();
    refresh_stale_schemas(shared, conn, &monitors).await?;
    // All monitors are requested at once; each reply is applied as it arrives.
    let restarts = monitors
        .iter()
        .map(|m| establish_monitor(shared, conn, m, false));
    for r in futures::future::join_all(restarts).await {
        r?;
    }
    let locks: Vec<(String, watch::Sender<LockStatus>)> = shared
        .locks
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect();
    for (name, status) in locks {
        request_lock(shared, conn, "lock", &name, status).await?;
    }
    Ok(())
}

/// Adds up to a quarter of random jitter, so clients of one cluster do not reconnect in step.
fn jittered(d: Duration) -> Duration {
    let extra = d.as_millis() as u64 / 4;
    d + Duration::from_millis(if extra == 0 {
        0
    } else {
        fastrand::u64(0..=extra)
    })
}

/// Owns the connection for the life of the client: connect, serve, reconnect.
async fn supervise(shared: Arc<Shared>) {
    let config = &shared.config;
    let mut order = config.remotes.clone();
    if config.shuffle_remotes {
        fastrand::shuffle(&mut order);
    }
    let mut backoff = config.backoff_min;
    let mut next = 0usize;
    let mut failures = 0usize;
    loop {
        if shared.shutdown.is_cancelled() {
            break;
        }
        let remote = order[next % order.len()].clone();
        next += 1;
        let attempt = tokio::select! {
            r = tokio::time::timeout(config.connect_timeout, establish(&shared, &remote)) => {
                r.unwrap_or_else(|_| Err(Error::Timeout {
                    method: format!("connect to {remote}"),
                    timeout: config.connect_timeout,
                }))
            }
            _ = shared.shutdown.cancelled() => break,
        };
        match attempt {
            Ok((conn, reader)) => {
                tracing::info!(%remote, "connected");
                let since = tokio::time::Instant::now();
                shared
                    .state
                    .send_replace(ConnectionState::Connected(remote.clone()));
                shared.ready.send_replace(Some(conn.clone()));
                tokio::select! {
                    _ = conn.closed.cancelled() => {}
                    _ = shared.shutdown.cancelled() => conn.close(),
                }
                shared.ready.send_replace(None);
                shared.state.send_replace(ConnectionState::Connecting);
                // The reader fails every request in flight before it ends.
                let _ = reader.await;
                for s in shared
                    .locks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                {
                    s.send_replace(LockStatus::Disconnected);
                }
                if since.elapsed() >= config.backoff_max {
                    backoff = config.backoff_min;
                    failures = 0;
                } else {
                    // A connection that dies at once counts as a failure, so a server that
                    // accepts and drops cannot make us spin.
                    failures += 1;
                }
                tracing::info!(%remote, "disconnected");
            }
            Err(e) => {
                tracing::info!(%remote, "connection failed: {e}");
                *shared.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                failures += 1;
            }
        }
        if failures >= order.len() {
            failures = 0;
            let delay = jittered(backoff);
            backoff = (backoff * 2).min(config.backoff_max);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shared.shutdown.cancelled() => break,
            }
        }
    }
    shared.ready.send_replace(None);
    shared.state.send_replace(ConnectionState::Shutdown);
}

#[cfg(test)]
#[path = "client/tests.rs"]
mod tests;
