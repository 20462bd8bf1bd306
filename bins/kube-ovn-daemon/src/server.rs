//! The unix socket the `kube-ovn` plugin talks to: one JSON request and one JSON response per
//! connection, each connection served by its own task.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kube_ovn_cni::{CniCommand, CniError, DaemonRequest, DaemonResponse, codes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use crate::error::{Error, Result};
use crate::plug::Plugger;

/// A request is a few hundred bytes; more is not one.
const MAX_REQUEST: u64 = 1 << 20;
/// A plugin that connects must send its request promptly.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds `path`, replacing a stale socket file but never a live one: with several daemons on
/// one host (one per node namespace), two given the same `--socket` would otherwise silently
/// take each other's plugin traffic.
pub fn bind(path: &Path) -> Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Io {
                what: format!(
                    "listen on {}: another daemon is serving it (give each daemon its own --socket)",
                    path.display()
                ),
                source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
            });
        }
        std::fs::remove_file(path)
            .map_err(Error::io(format!("remove stale {}", path.display())))?;
    }
    UnixListener::bind(path).map_err(Error::io(format!("listen on {}", path.display())))
}

/// Serves plugin requests until the listener fails.
pub async fn serve(listener: UnixListener, plugger: Arc<Plugger>) -> Result<()> {
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(Error::io("accept a plugin connection"))?;
        let plugger = plugger.clone();
        tokio::spawn(async move {
            if let Err(error) = handle(stream, &plugger).await {
                tracing::warn!(%error, "plugin connection");
            }
        });
    }
}

async fn handle(mut stream: UnixStream, plugger: &Plugger) -> Result<()> {
    let mut body = Vec::new();
    let read = tokio::time::timeout(
        READ_TIMEOUT,
        (&mut stream).take(MAX_REQUEST).read_to_end(&mut body),
    )
    .await;
    let response = match read {
        Err(_) => DaemonResponse::Error(CniError::new(
            codes::IO_FAILURE,
            "the plugin sent no complete request in time",
        )),
        Ok(Err(e)) => DaemonResponse::Error(CniError::new(
            codes::IO_FAILURE,
            format!("reading the request: {e}"),
        )),
        Ok(Ok(_)) => match serde_json::from_slice::<DaemonRequest>(&body) {
            Err(e) => DaemonResponse::Error(CniError::new(
                codes::DECODE_FAILURE,
                format!("the request is not a kube-ovn daemon request: {e}"),
            )),
            Ok(request) => dispatch(plugger, &request).await,
        },
    };
    let bytes = serde_json::to_vec(&response).map_err(|e| Error::Io {
        what: "encode the response".into(),
        source: std::io::Error::other(e),
    })?;
    stream
        .write_all(&bytes)
        .await
        .map_err(Error::io("send the response"))?;
    stream
        .shutdown()
        .await
        .map_err(Error::io("close the connection"))
}

async fn dispatch(plugger: &Plugger, request: &DaemonRequest) -> DaemonResponse {
    let pod = format!("{}.{}", request.pod_name, request.pod_namespace);
    let started = tokio::time::Instant::now();
    let outcome = match request.command {
        CniCommand::Add => plugger.add(request).await.map(Some),
        CniCommand::Del => plugger.del(request).await.map(|()| None),
        CniCommand::Check => plugger.check(request).await.map(|()| None),
    };
    let elapsed_ms = started.elapsed().as_millis();
    match outcome {
        Ok(result) => {
            tracing::info!(command = ?request.command, pod, elapsed_ms, "done");
            DaemonResponse::Ok { result }
        }
        Err(error) => {
            tracing::warn!(command = ?request.command, pod, elapsed_ms, %error, "failed");
            DaemonResponse::Error(error.to_cni())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_live_socket_is_never_taken_over_and_a_stale_one_is_replaced() {
        let dir = std::env::temp_dir().join(format!(
            "daemon-socket-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kube-ovn-daemon.sock");
        let first = bind(&path).unwrap();
        let error = bind(&path).unwrap_err().to_string();
        assert!(
            error.contains(path.to_str().unwrap()) && error.contains("another daemon"),
            "{error}"
        );
        // The first daemon exits without removing its socket file: the next one starts.
        drop(first);
        assert!(path.exists());
        let _second = bind(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
