//! Test support: a kube-rs client over a `tower-test` mock service, answered by a small
//! in-memory API server. It keeps objects by path, answers get/list (with label selectors),
//! create, replace, delete, merge patch and server-side apply (approximated as a merge), marks
//! applied Jobs complete, fails requests the test asks it to, and records every call so tests
//! assert the exact sequence.
//!
//! Watches are held open until something changes in the watched collection: then the watch is
//! answered with the event (`ADDED`, `MODIFIED`, `DELETED`, the object carrying a fresh
//! `resourceVersion`) and ends, and the client watches again, as after a server-side timeout.
//! Changes made while no watch is open are kept for the next one.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// A request the test wants refused once: method, path, HTTP status.
type Fault = (String, String, u16);

#[derive(Default)]
struct State {
    objects: std::collections::BTreeMap<String, Value>,
    calls: Vec<String>,
    faults: Vec<Fault>,
    failing_jobs: Vec<String>,
    /// Open watches by collection path.
    held: std::collections::BTreeMap<String, Vec<tower_test::mock::SendResponse<Response<Body>>>>,
    /// Events of a watched collection waiting for its next watch.
    queued: std::collections::BTreeMap<String, Vec<Value>>,
    /// Collections watched at least once.
    watched: std::collections::BTreeSet<String>,
    /// The last resourceVersion handed out.
    resource_version: u64,
}

impl State {
    /// Sends `type_` of the object at `object_path` to the watchers of its collection.
    fn notify(&mut self, object_path: &str, type_: &str, object: &Value) {
        let collection = parent(object_path).to_owned();
        if !self.watched.contains(&collection) {
            return;
        }
        self.resource_version += 1;
        let mut object = object.clone();
        if object["metadata"].is_object() {
            object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        }
        let event = json!({"type": type_, "object": object});
        match self.held.remove(&collection) {
            Some(watches) if !watches.is_empty() => {
                for send in watches {
                    send.send_response(watch_response(std::slice::from_ref(&event)));
                }
            }
            _ => self.queued.entry(collection).or_default().push(event),
        }
    }
}

fn watch_response(events: &[Value]) -> Response<Body> {
    let mut text = String::new();
    for e in events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(text.into_bytes()))
        .expect("response")
}

/// The in-memory API server; clones share it.
#[derive(Clone, Default)]
pub(crate) struct FakeApi {
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    /// A client whose requests this server answers (served by a spawned task).
    pub(crate) fn start() -> (Client, FakeApi) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let api = FakeApi::default();
        let server = api.clone();
        tokio::spawn(async move {
            while let Some((request, send)) = handle.next_request().await {
                let (parts, body) = request.into_parts();
                if parts.uri.query().unwrap_or("").contains("watch=true") {
                    let mut st = server.lock();
                    let path = parts.uri.path().to_owned();
                    st.calls.push(format!("WATCH {path}"));
                    st.watched.insert(path.clone());
                    match st.queued.remove(&path) {
                        Some(events) if !events.is_empty() => {
                            send.send_response(watch_response(&events));
                        }
                        _ => st.held.entry(path).or_default().push(send),
                    }
                    continue;
                }
                let bytes = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let body: Value = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                };
                let content_type = parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let (status, reply) = server.serve(
                    parts.method.as_str(),
                    parts.uri.path(),
                    parts.uri.query().unwrap_or(""),
                    &content_type,
                    body,
                );
                let response = Response::builder()
                    .status(status)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Body::from(serde_json::to_vec(&reply).unwrap_or_default()))
                    .expect("response");
                send.send_response(response);
            }
        });
        (Client::new(service, "default"), api)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores an object at its API path.
    pub(crate) fn put(&self, path: &str, obj: Value) {
        self.lock().objects.insert(path.to_owned(), obj);
    }

    /// Stores an object as a client would create or replace it: watchers see the change.
    pub(crate) fn write(&self, path: &str, obj: Value) {
        let mut s = self.lock();
        let type_ = if s.objects.contains_key(path) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        s.objects.insert(path.to_owned(), obj.clone());
        s.notify(path, type_, &obj);
    }

    /// Changes the object at `path` as a client would: watchers see the change.
    pub(crate) fn change(&self, path: &str, f: impl FnOnce(&mut Value)) {
        let mut s = self.lock();
        let Some(obj) = s.objects.get_mut(path) else {
            return;
        };
        f(obj);
        let obj = obj.clone();
        s.notify(path, "MODIFIED", &obj);
    }

    /// Deletes the object at `path` behind the controller's back.
    pub(crate) fn remove(&self, path: &str) {
        self.lock().objects.remove(path);
    }

    /// The object at `path`.
    pub(crate) fn get(&self, path: &str) -> Option<Value> {
        self.lock().objects.get(path).cloned()
    }

    /// Changes the object at `path` in place (a user editing it behind our back).
    pub(crate) fn edit(&self, path: &str, f: impl FnOnce(&mut Value)) {
        if let Some(obj) = self.lock().objects.get_mut(path) {
            f(obj);
        }
    }

    /// Paths of the stored objects under `prefix`.
    pub(crate) fn paths(&self, prefix: &str) -> Vec<String> {
        self.lock()
            .objects
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The next `method` on `path` gets `status` (and changes nothing).
    pub(crate) fn fail_once(&self, method: &str, path: &str, status: u16) {
        self.lock()
            .faults
            .push((method.to_owned(), path.to_owned(), status));
    }

    /// Jobs applied at `path` end Failed instead of Complete.
    pub(crate) fn job_fails(&self, path: &str) {
        self.lock().failing_jobs.push(path.to_owned());
    }

    /// The calls so far, kept.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// The calls so far (`METHOD path[?query]`, query percent-decoded), and forgets them.
    pub(crate) fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().calls)
    }

    fn serve(
        &self,
        method: &str,
        path: &str,
        query: &str,
        content_type: &str,
        body: Value,
    ) -> (u16, Value) {
        let mut s = self.lock();
        let query = decode(query);
        s.calls.push(if query.is_empty() {
            format!("{method} {path}")
        } else {
            format!("{method} {path}?{query}")
        });
        if let Some(i) = s
            .faults
            .iter()
            .position(|(m, p, _)| m == method && p == path)
        {
            let (_, _, code) = s.faults.remove(i);
            return (code, failure(code, "injected failure"));
        }
        let (object_path, subresource) = split_path(path);
        let Some(object_path) = object_path else {
            // A collection.
            return match method {
                "GET" => {
                    let selector = query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("labelSelector="))
                        .unwrap_or("");
                    let items: Vec<Value> = s
                        .objects
                        .iter()
                        .filter(|(k, _)| parent(k) == path)
                        .map(|(_, v)| v.clone())
                        .filter(|v| selects(selector, v))
                        .collect();
                    (
                        200,
                        json!({"metadata": {"resourceVersion": "1"}, "items": items}),
                    )
                }
                "POST" => {
                    let name = body["metadata"]["name"].as_str().unwrap_or("").to_owned();
                    let at = format!("{path}/{name}");
                    if s.objects.contains_key(&at) {
                        return (409, failure(409, "AlreadyExists"));
                    }
                    s.objects.insert(at.clone(), body.clone());
                    s.notify(&at, "ADDED", &body);
                    (201, body)
                }
                _ => (405, failure(405, "MethodNotAllowed")),
            };
        };
        let failing_job = s.failing_jobs.contains(&object_path);
        match (method, subresource) {
            ("GET", None) => match s.objects.get(&object_path) {
                Some(o) => (200, o.clone()),
                None => (404, failure(404, "NotFound")),
            },
            ("PUT", None) => {
                s.objects.insert(object_path.clone(), body.clone());
                s.notify(&object_path, "MODIFIED", &body);
                (200, body)
            }
            ("DELETE", None) => match s.objects.remove(&object_path) {
                Some(o) => {
                    s.notify(&object_path, "DELETED", &o);
                    (200, o)
                }
                None => (404, failure(404, "NotFound")),
            },
            ("PATCH", _) if content_type.starts_with("application/apply-patch") => {
                let type_ = if s.objects.contains_key(&object_path) {
                    "MODIFIED"
                } else {
                    "ADDED"
                };
                let entry = s.objects.entry(object_path.clone()).or_insert(Value::Null);
                merge_patch(entry, &body);
                if entry["kind"] == "Job" {
                    let (kind, message) = if failing_job {
                        ("Failed", "BackoffLimitExceeded")
                    } else {
                        ("Complete", "")
                    };
                    entry["status"] = json!({"conditions": [
                        {"type": kind, "status": "True", "message": message}
                    ]});
                }
                let applied = entry.clone();
                s.notify(&object_path, type_, &applied);
                (200, applied)
            }
            ("PATCH", _) => match s.objects.get_mut(&object_path) {
                Some(o) => {
                    merge_patch(o, &body);
                    let patched = o.clone();
                    s.notify(&object_path, "MODIFIED", &patched);
                    (200, patched)
                }
                None => (404, failure(404, "NotFound")),
            },
            _ => (405, failure(405, "MethodNotAllowed")),
        }
    }
}

fn decode(q: &str) -> String {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .collect::<Vec<_>>()
        .join("&")
        .replace("%3D", "=")
        .replace("%2C", ",")
        .replace("%2F", "/")
        .replace("%3A", ":")
}

fn failure(code: u16, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": reason, "reason": reason, "code": code})
}

/// `(object path, subresource)`; object path `None` for a collection.
fn split_path(path: &str) -> (Option<String>, Option<String>) {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let skip = if segs.first() == Some(&"api") { 2 } else { 3 };
    let rest = &segs[skip.min(segs.len())..];
    let base = segs[..skip.min(segs.len())].join("/");
    let join = |n: usize| format!("/{base}/{}", rest[..n].join("/"));
    match rest.len() {
        1 => (None, None),
        2 => (Some(join(2)), None),
        3 if rest[0] == "namespaces" => (None, None),
        3 => (Some(join(2)), Some(rest[2].to_owned())),
        4 => (Some(join(4)), None),
        _ => (Some(join(4)), rest.get(4).map(|s| (*s).to_owned())),
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

fn selects(selector: &str, obj: &Value) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        obj["metadata"]["labels"][k].as_str() == Some(v)
    })
}

fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}
