//! One open connection: the socket's reader and writer tasks and the requests in flight.
//!
//! The writer task owns the write half and batches whatever callers queued into few writes, so
//! thousands of pipelined requests cost few syscalls. The reader task owns the read half: it
//! splits frames, answers the server's `echo`, sends our inactivity probe, and hands each
//! reply to the handler registered under its id. Handlers run on the reader task, in wire
//! order, which is what keeps a monitor's reply and its later notifications in sequence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::io::{AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use crate::codec::{DEFAULT_MAX_DEPTH, JsonCodec};
use crate::error::{Error, InvalidMessage};
use crate::remote::{Remote, Transport};
use crate::rpc::{self, Message};

/// What a handler is given: the result, or why there will be none.
pub(crate) type Reply<'a> = Result<&'a RawValue, Error>;

/// Runs on the reader task when the reply to a request arrives or the connection dies.
pub(crate) type Handler = Box<dyn FnOnce(Reply<'_>) + Send>;

/// Receives notifications and requests that are not replies (everything but `echo`).
pub(crate) trait Dispatch: Send + Sync + 'static {
    /// A notification arrived on `conn`.
    fn notification(&self, conn: &Arc<Conn>, method: &str, params: &RawValue);
}

struct InFlight {
    method: &'static str,
    handler: Handler,
}

/// An open connection to one server.
pub(crate) struct Conn {
    /// Where it goes.
    pub remote: Remote,
    writes: mpsc::UnboundedSender<Vec<u8>>,
    /// `None` once the connection is closed: nothing can be registered any more.
    pending: Mutex<Option<HashMap<u64, InFlight>>>,
    /// Cancelled when the connection is closed, by either side.
    pub closed: CancellationToken,
}

impl Conn {
    /// Registers `handler` for the reply to request `id` and queues its bytes.
    pub fn send_request(
        &self,
        id: u64,
        method: &'static str,
        bytes: Vec<u8>,
        handler: Handler,
    ) -> Result<(), Error> {
        {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let Some(map) = pending.as_mut() else {
                return Err(Error::ConnectionLost {
                    method: method.to_owned(),
                });
            };
            map.insert(id, InFlight { method, handler });
        }
        // If the writer is gone the connection is closing, and closing fails every handler.
        let _ = self.writes.send(bytes);
        Ok(())
    }

    /// Queues bytes that expect no reply (notifications, answers to the peer's requests).
    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.writes.send(bytes);
    }

    /// Forgets the request `id` (its caller gave up); true if it was still in flight.
    pub fn forget(&self, id: u64) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.as_mut().and_then(|m| m.remove(&id)).is_some()
    }

    fn take(&self, id: u64) -> Option<InFlight> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.as_mut()?.remove(&id)
    }

    /// Whether the connection has been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Closes the connection; requests in flight fail with [`Error::ConnectionLost`].
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Marks the connection closed and fails every request still in flight.
    fn fail_all(&self) {
        self.closed.cancel();
        let drained = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(map) = drained {
            let mut ids: Vec<_> = map.into_iter().collect();
            // Fail in request order, so state changes (monitor condition changes) apply in order.
            ids.sort_by_key(|(id, _)| *id);
            for (_, f) in ids {
                (f.handler)(Err(Error::ConnectionLost {
                    method: f.method.to_owned(),
                }));
            }
        }
    }
}

/// Settings of one connection's tasks.
pub(crate) struct ConnSettings {
    /// Send an `echo` after this long without input; drop the peer after twice as long.
    pub probe_interval: Option<Duration>,
    /// Largest frame accepted.
    pub max_frame: usize,
}

/// Starts the reader and writer tasks of a freshly opened transport.
///
/// The returned handle completes when the connection is over; by then every request in flight
/// has been failed.
pub(crate) fn start(
    transport: Transport,
    remote: Remote,
    settings: ConnSettings,
    ids: Arc<dyn Fn() -> u64 + Send + Sync>,
    dispatch: Arc<dyn Dispatch>,
) -> (Arc<Conn>, tokio::task::JoinHandle<()>) {
    let (read, write) = tokio::io::split(transport);
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Conn {
        remote,
        writes: tx,
        pending: Mutex::new(Some(HashMap::new())),
        closed: CancellationToken::new(),
    });
    let writer = tokio::spawn(write_loop(write, rx, conn.closed.clone()));
    let reader = tokio::spawn(read_loop(
        conn.clone(),
        read,
        settings,
        ids,
        dispatch,
        writer,
    ));
    (conn, reader)
}

async fn write_loop(
    mut w: WriteHalf<Transport>,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    closed: CancellationToken,
) {
    const BATCH: usize = 256 * 1024;
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = closed.cancelled() => break,
        };
        let Some(first) = first else { break };
        let result = if first.len() >= BATCH {
            // A big request (a batch transaction) goes out without an extra copy.
            write_all(&mut w, &first, &closed).await
        } else {
            batch.clear();
            batch.extend_from_slice(&first);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => batch.extend_from_slice(&m),
                    Err(_) => break,
                }
            }
            write_all(&mut w, &batch, &closed).await
        };
        if let Err(e) = result {
            tracing::debug!("write failed: {e}");
            closed.cancel();
            break;
        }
    }
    let _ = w.shutdown().await;
}

async fn write_all(
    w: &mut WriteHalf<Transport>,
    bytes: &[u8],
    closed: &CancellationToken,
) -> std::io::Result<()> {
    tokio::select! {
        r = async { w.write_all(bytes).await?; w.flush().await } => r,
        _ = closed.cancelled() => Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed")),
    }
}

async fn read_loop(
    conn: Arc<Conn>,
    read: ReadHalf<Transport>,
    settings: ConnSettings,
    ids: Arc<dyn Fn() -> u64 + Send + Sync>,
    dispatch: Arc<dyn Dispatch>,
    writer: tokio::task::JoinHandle<()>,
) {
    let codec = JsonCodec::with_limits(settings.max_frame, DEFAULT_MAX_DEPTH);
    let mut frames = FramedRead::with_capacity(read, codec, 64 * 1024);
    let mut probe_sent = false;
    let why: String = loop {
        let deadline = settings.probe_interval.map(|p| Instant::now() + p);
        let next = tokio::select! {
            biased;
            _ = conn.closed.cancelled() => break "closed by the client".into(),
            f = frames.next() => f,
            _ = sleep_until_some(deadline) => {
                if probe_sent {
                    break format!("no input for two probe intervals ({:?} each)", settings.probe_interval.unwrap_or_default());
                }
                probe_sent = true;
                send_probe(&conn, ids());
                continue;
            }
        };
        match next {
            None => break "closed by the server".into(),
            Some(Err(e)) => break e.to_string(),
            Some(Ok(frame)) => {
                probe_sent = false;
                if let Err(e) = handle_frame(&conn, &frame, &*dispatch) {
                    break e.to_string();
                }
            }
        }
    };
    tracing::debug!(remote = %conn.remote, "connection over: {why}");
    conn.fail_all();
    drop(frames);
    let _ = writer.await;
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn send_probe(conn: &Conn, id: u64) {
    if let Ok(bytes) = rpc::encode_request("echo", &[0u8; 0], id) {
        // Any input resets the probe; the reply itself needs no handling.
        let _ = conn.send_request(id, "echo", bytes, Box::new(|_| {}));
    }
}

/// Handles one frame; an error means the peer broke the protocol and the connection must go.
fn handle_frame(conn: &Arc<Conn>, frame: &[u8], dispatch: &dyn Dispatch) -> Result<(), Error> {
    let msg = Message::parse(frame)?;
    match msg {
        Message::Response { id, result } => {
            let Some(num) = serde_json::from_str::<u64>(id.get()).ok() else {
                tracing::warn!("{}", InvalidMessage::UnknownId(id.get().to_owned()));
                return Ok(());
            };
            match conn.take(num) {
                Some(f) => (f.handler)(result.map_err(Error::Server)),
                // A request whose caller gave up (its future was dropped) or a stray id.
                None => tracing::debug!("{}", InvalidMessage::UnknownId(num.to_string())),
            }
        }
        Message::Request { method, params, id } => {
            let bytes = if method == "echo" {
                rpc::encode_response(params, id)
            } else {
                tracing::warn!(%method, "server sent a request this client does not serve");
                rpc::encode_error_response("unknown method", id)
            };
            conn.send_raw(bytes?);
        }
        Message::Notification { method, params } => dispatch.notification(conn, &method, params),
    }
    Ok(())
}

/// Sends a request and waits for its raw result on the given connection.
pub(crate) async fn call_raw(
    conn: &Conn,
    id: u64,
    method: &'static str,
    params: &impl Serialize,
) -> Result<Box<RawValue>, Error> {
    let bytes = rpc::encode_request(method, params, id)?;
    let (tx, rx) = oneshot::channel();
    conn.send_request(
        id,
        method,
        bytes,
        Box::new(move |r| {
            let _ = tx.send(r.map(|v| v.to_owned()));
        }),
    )?;
    rx.await.map_err(|_| Error::ConnectionLost {
        method: method.to_owned(),
    })?
}
