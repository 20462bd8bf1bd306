//! Test support: a real HTTP/1.1 server on a free loopback port serving fixed files, with
//! optional basic auth, counting the requests per path. Dropped, it stops serving.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A file server for tests.
pub(crate) struct FileServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FileServer {
    /// Serves `files` (path -> body); with `auth`, requests without `Authorization: Basic
    /// base64(user:password)` get 401.
    pub(crate) async fn start(files: Vec<(String, Vec<u8>)>, auth: Option<(&str, &str)>) -> Self {
        use base64::Engine as _;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let files: Arc<HashMap<String, Vec<u8>>> = Arc::new(files.into_iter().collect());
        let expected = auth.map(|(u, p)| {
            format!(
                "basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let files = files.clone();
                let expected = expected.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
                    *counter.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                    let authorised = expected.as_ref().is_none_or(|want| {
                        text.lines().any(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("authorization: ")
                                .is_some_and(|v| v.trim() == want.to_ascii_lowercase())
                        })
                    });
                    let (status, body) = if !authorised {
                        ("401 Unauthorized", b"unauthorized".to_vec())
                    } else if let Some(body) = files.get(&path) {
                        ("200 OK", body.clone())
                    } else {
                        ("404 Not Found", b"not found".to_vec())
                    };
                    let reply = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.write_all(&body).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        FileServer { url, hits, task }
    }

    /// How many requests asked for `path`.
    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

/// A chart archive (`name-version.tgz` layout) holding `files` under `name/`.
pub(crate) fn chart_tgz(name: &str, version: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    let mut all: Vec<(&str, &str)> = vec![("Chart.yaml", chart_yaml.as_str())];
    all.extend_from_slice(files);
    for (path, data) in all {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("{name}/{path}"), data.as_bytes())
            .expect("tar entry");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}
