//! Test support: a kube-rs client over a `tower-test` mock service, and an API server stand-in
//! that checks each request in order and answers it.

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::Client;
use kube::client::Body;
use serde_json::Value;
use tower_test::mock::Handle;

/// The server end of the mock: requests arrive here in the order the client sends them.
pub(crate) struct ApiServer(pub(crate) Handle<Request<Body>, Response<Body>>);

/// A client whose requests go to the returned [`ApiServer`].
pub(crate) fn client() -> (Client, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServer(handle))
}

/// A request as the server saw it.
pub(crate) struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as JSON, `None` when empty.
    pub body: Option<Value>,
}

impl ApiServer {
    /// Waits (bounded) for the next request, answers it with `status` and `response`, and
    /// returns what was asked.
    pub(crate) async fn answer(&mut self, status: u16, response: Value) -> Seen {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), self.0.next_request());
        let (request, send) = next
            .await
            .expect("a request within 30 s")
            .expect("the client is alive");
        let method = request.method().to_string();
        let uri = request.uri().to_string();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = request
            .into_body()
            .collect()
            .await
            .expect("request body")
            .to_bytes();
        let body = (!bytes.is_empty())
            .then(|| serde_json::from_slice(&bytes).expect("request body is JSON"));
        let reply = Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&response).expect("JSON")))
            .expect("response");
        send.send_response(reply);
        Seen {
            method,
            uri,
            content_type,
            body,
        }
    }

    /// Expects a request with exactly this method, path and query, answers it, and returns
    /// its body.
    pub(crate) async fn expect(
        &mut self,
        method: &str,
        uri: &str,
        status: u16,
        response: Value,
    ) -> Option<Value> {
        let seen = self.answer(status, response).await;
        assert_eq!((seen.method.as_str(), seen.uri.as_str()), (method, uri));
        seen.body
    }
}

/// A Kubernetes `Status` failure body.
pub(crate) fn status_failure(code: u16, reason: &str, message: &str) -> Value {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    })
}

/// A write the [`FakeApi`] received.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    /// `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as JSON, `None` when empty.
    pub body: Option<Value>,
}

/// A write to a held path ([`FakeApi::start_holding`]), waiting for the test's answer. The
/// fake serves nothing else meanwhile, so the test sees the world as it is when the write
/// arrives. Dropping it unanswered applies the write.
pub(crate) struct Held {
    /// The write.
    pub write: Write,
    answer: tokio::sync::oneshot::Sender<Option<(u16, Value)>>,
}

impl Held {
    /// Refuses the write with `status` and a `Status` body; nothing changes.
    pub(crate) fn fail(self, status: u16, reason: &str) {
        let _ = self.answer.send(Some((
            status,
            status_failure(status, reason, "refused by the test"),
        )));
    }

    /// Lets the write through: the fake applies and answers it as usual.
    pub(crate) fn apply(self) {
        let _ = self.answer.send(None);
    }
}

/// An API server stand-in that keeps objects: it answers lists and reads from them, applies
/// creates, merge patches (also of `/status`), replaces and deletes to them, holds watches open
/// until [`FakeApi::push`] sends them an event, and reports every write in order.
pub(crate) struct FakeApi {
    writes: tokio::sync::mpsc::UnboundedReceiver<Write>,
    held: tokio::sync::mpsc::UnboundedReceiver<Held>,
    events: tokio::sync::mpsc::UnboundedSender<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where an object of a list lives: `/api/v1/pods` + ns1/web-0 ->
/// `/api/v1/namespaces/ns1/pods/web-0`.
pub(crate) fn object_path(list_path: &str, namespace: Option<&str>, name: &str) -> String {
    let (prefix, resource) = list_path.rsplit_once('/').expect("a list path");
    match namespace {
        Some(ns) => format!("{prefix}/namespaces/{ns}/{resource}/{name}"),
        None => format!("{prefix}/{resource}/{name}"),
    }
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

/// The list (and watch) path of an object's path: `/api/v1/namespaces/ns1/pods/web-0` ->
/// `/api/v1/pods`, `/apis/kubeovn.io/v1/ips/x` -> `/apis/kubeovn.io/v1/ips`.
pub(crate) fn list_path(object_path: &str) -> Option<String> {
    let parts: Vec<&str> = object_path.trim_start_matches('/').split('/').collect();
    let prefix_len = if parts.first() == Some(&"api") { 2 } else { 3 };
    let prefix = parts.get(..prefix_len)?.join("/");
    let rest = parts.get(prefix_len..)?;
    match rest {
        ["namespaces", _, resource, _] | [resource, _] => Some(format!("/{prefix}/{resource}")),
        _ => None,
    }
}

fn watch_response(events: Vec<Value>) -> Response<Body> {
    let mut text = String::new();
    for e in events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    Response::builder()
        .status(200)
        .body(Body::from(text.into_bytes()))
        .expect("response")
}

/// Open watches, and events waiting for a watch to be opened.
#[derive(Default)]
struct Watches {
    held: std::collections::HashMap<String, Vec<tower_test::mock::SendResponse<Response<Body>>>>,
    queued: std::collections::HashMap<String, Vec<Value>>,
}

impl Watches {
    /// Ends an open watch of `list` with `event` (the client watches again), or keeps the
    /// event for the next watch.
    fn deliver(&mut self, list: String, event: Value) {
        match self.held.get_mut(&list).and_then(Vec::pop) {
            Some(send) => send.send_response(watch_response(vec![event])),
            None => self.queued.entry(list).or_default().push(event),
        }
    }
}

impl FakeApi {
    /// Serves `server` with `lists`: for each list path (e.g. `/api/v1/pods`), its apiVersion,
    /// kind and objects (every list the client asks for must be given, empty or not).
    pub(crate) fn start(
        server: ApiServer,
        lists: Vec<(&'static str, &'static str, &'static str, Vec<Value>)>,
    ) -> FakeApi {
        Self::start_holding(server, lists, &[])
    }

    /// As [`FakeApi::start`], but each write to one of `held_paths` waits for the test to
    /// answer it ([`FakeApi::next_held`]).
    pub(crate) fn start_holding(
        server: ApiServer,
        lists: Vec<(&'static str, &'static str, &'static str, Vec<Value>)>,
        held_paths: &[&str],
    ) -> FakeApi {
        use std::collections::BTreeMap;
        let held_paths: Vec<String> = held_paths.iter().map(|p| (*p).to_owned()).collect();
        let (held_tx, held) = tokio::sync::mpsc::unbounded_channel();
        let (writes_tx, writes) = tokio::sync::mpsc::unbounded_channel();
        let (events, mut events_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Value)>();
        let mut kinds: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut store: BTreeMap<String, Value> = BTreeMap::new();
        for (path, api_version, kind, items) in lists {
            kinds.insert(path.to_owned(), (api_version.to_owned(), kind.to_owned()));
            for mut item in items {
                item["apiVersion"] = api_version.into();
                item["kind"] = kind.into();
                let name = item["metadata"]["name"]
                    .as_str()
                    .expect("a name")
                    .to_owned();
                let ns = item["metadata"]["namespace"].as_str().map(str::to_owned);
                store.insert(object_path(path, ns.as_deref(), &name), item);
            }
        }
        let mut handle = server.0;
        // Writes to a watched kind reach its watch, as the API server sends them.
        let watched: Vec<String> = kinds.keys().cloned().collect();
        let notify = move |watches: &mut Watches, at: &str, kind: &str, object: Value| {
            if let Some(list) = list_path(at).filter(|l| watched.contains(l)) {
                watches.deliver(list, serde_json::json!({"type": kind, "object": object}));
            }
        };
        let task = tokio::spawn(async move {
            type Send = tower_test::mock::SendResponse<Response<Body>>;
            let mut watches = Watches::default();
            let mut version = 100u64;
            let reply = |send: Send, status: u16, body: &Value| {
                send.send_response(
                    Response::builder()
                        .status(status)
                        .body(Body::from(serde_json::to_vec(body).expect("JSON")))
                        .expect("response"),
                );
            };
            loop {
                let (request, send) = tokio::select! {
                    next = handle.next_request() => match next {
                        Some(r) => r,
                        None => return,
                    },
                    event = events_rx.recv() => {
                        let Some((path, event)) = event else { continue };
                        // The store follows the event, so a relist agrees with the watch.
                        let object = &event["object"];
                        let name = object["metadata"]["name"].as_str().unwrap_or_default();
                        let ns = object["metadata"]["namespace"].as_str();
                        let at = object_path(&path, ns, name);
                        if event["type"] == "DELETED" {
                            store.remove(&at);
                        } else {
                            store.insert(at, object.clone());
                        }
                        watches.deliver(path, event);
                        continue;
                    }
                };
                let method = request.method().to_string();
                let path = request.uri().path().to_owned();
                let query = request.uri().query().unwrap_or_default().to_owned();
                let content_type = request
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let bytes = request
                    .into_body()
                    .collect()
                    .await
                    .expect("request body")
                    .to_bytes();
                let body: Option<Value> = (!bytes.is_empty())
                    .then(|| serde_json::from_slice(&bytes).expect("request body is JSON"));
                if method != "GET" {
                    let write = Write {
                        method: method.clone(),
                        path: path.clone(),
                        content_type,
                        body: body.clone(),
                    };
                    let _ = writes_tx.send(write.clone());
                    if held_paths.contains(&path) {
                        let (answer, answered) = tokio::sync::oneshot::channel();
                        let _ = held_tx.send(Held { write, answer });
                        let verdict =
                            tokio::time::timeout(std::time::Duration::from_secs(60), answered)
                                .await
                                .expect("the test answers a held write within 60 s");
                        if let Ok(Some((status, body))) = verdict {
                            reply(send, status, &body);
                            continue;
                        }
                    }
                }
                version += 1;
                let not_found = status_failure(404, "NotFound", &format!("{path} not found"));
                match method.as_str() {
                    "GET" if query.contains("watch=true") => {
                        match watches.queued.remove(&path).filter(|q| !q.is_empty()) {
                            Some(events) => send.send_response(watch_response(events)),
                            None => watches.held.entry(path).or_default().push(send),
                        }
                    }
                    "GET" => {
                        if let Some((api_version, kind)) = kinds.get(&path) {
                            let items: Vec<Value> = store
                                .values()
                                .filter(|o| o["kind"] == kind.as_str())
                                .cloned()
                                .collect();
                            let list = serde_json::json!({
                                "apiVersion": api_version, "kind": format!("{kind}List"),
                                "metadata": {"resourceVersion": version.to_string()},
                                "items": items
                            });
                            reply(send, 200, &list);
                        } else if let Some(o) = store.get(&path) {
                            reply(send, 200, o);
                        } else {
                            reply(send, 404, &not_found);
                        }
                    }
                    "POST" => {
                        let mut o = body.unwrap_or_default();
                        let name = o["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        let at = format!("{path}/{name}");
                        if store.contains_key(&at) {
                            reply(send, 409, &status_failure(409, "AlreadyExists", "exists"));
                        } else {
                            o["metadata"]["resourceVersion"] = version.to_string().into();
                            store.insert(at.clone(), o.clone());
                            reply(send, 201, &o);
                            notify(&mut watches, &at, "ADDED", o);
                        }
                    }
                    "PATCH" => {
                        let at = path.strip_suffix("/status").unwrap_or(&path).to_owned();
                        match store.get_mut(&at) {
                            Some(o) => {
                                merge_patch(o, &body.unwrap_or_default());
                                o["metadata"]["resourceVersion"] = version.to_string().into();
                                reply(send, 200, o);
                                let o = o.clone();
                                notify(&mut watches, &at, "MODIFIED", o);
                            }
                            None => reply(send, 404, &not_found),
                        }
                    }
                    "PUT" => {
                        let mut o = body.unwrap_or_default();
                        o["metadata"]["resourceVersion"] = version.to_string().into();
                        store.insert(path.clone(), o.clone());
                        reply(send, 200, &o);
                        notify(&mut watches, &path, "MODIFIED", o);
                    }
                    "DELETE" => match store.remove(&path) {
                        Some(o) => {
                            reply(
                                send,
                                200,
                                &serde_json::json!({"kind": "Status", "apiVersion": "v1",
                                    "status": "Success", "metadata": {}}),
                            );
                            notify(&mut watches, &path, "DELETED", o);
                        }
                        None => reply(send, 404, &not_found),
                    },
                    other => panic!("unexpected method {other} {path}"),
                }
            }
        });
        FakeApi {
            writes,
            held,
            events,
            task,
        }
    }

    /// Waits (bounded) for the next write to a held path.
    pub(crate) async fn next_held(&mut self) -> Held {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.held.recv())
            .await
            .expect("a held write within 60 s")
            .expect("the fake API runs")
    }

    /// Sends a watch event (`{"type": …, "object": …}`) to the watch of `list_path`.
    pub(crate) fn push(&self, list_path: &str, event: Value) {
        self.events
            .send((list_path.to_owned(), event))
            .expect("the fake API runs");
    }

    /// Waits (bounded) for the next write.
    pub(crate) async fn next_write(&mut self) -> Write {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.writes.recv())
            .await
            .expect("a write within 60 s")
            .expect("the fake API runs")
    }

    /// Collects writes until `done` holds for the writes so far; fails after 60 s listing
    /// what was written.
    pub(crate) async fn writes_until(&mut self, done: impl Fn(&[Write]) -> bool) -> Vec<Write> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done(&seen) {
            match tokio::time::timeout_at(deadline, self.writes.recv()).await {
                Ok(Some(w)) => seen.push(w),
                Ok(None) => panic!("the fake API stopped; writes: {seen:#?}"),
                Err(_) => panic!(
                    "the expected writes did not come within 60 s; writes: {:#?}",
                    seen.iter()
                        .map(|w| format!(
                            "{} {} {}",
                            w.method,
                            w.path,
                            w.body.clone().unwrap_or_default()
                        ))
                        .collect::<Vec<_>>()
                ),
            }
        }
        seen
    }
}
