//! A stand-in Kubernetes API server on loopback (plain HTTP/1.1 over tokio), enough for the
//! stock `helm` and for kube-rs: `/version`, discovery for a few core, apps and batch kinds,
//! and an in-memory object store for namespaced resources (list with equality label
//! selectors, get, create, replace, apply and merge patch, delete). Every request is logged, so
//! a test can see what a client asked for. It stops when dropped.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Objects by (API path prefix incl. plural, namespace, name).
type Store = BTreeMap<(String, String, String), Value>;

#[derive(Default)]
struct State {
    objects: Store,
    log: Vec<String>,
    next_version: u64,
}

/// The running server.
pub struct FakeApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

const RESOURCES: &[(&str, &str, &str, bool)] = &[
    // (group/version path, plural, kind, namespaced)
    ("api/v1", "secrets", "Secret", true),
    ("api/v1", "configmaps", "ConfigMap", true),
    ("api/v1", "services", "Service", true),
    ("api/v1", "serviceaccounts", "ServiceAccount", true),
    ("api/v1", "pods", "Pod", true),
    ("api/v1", "namespaces", "Namespace", false),
    ("apis/apps/v1", "deployments", "Deployment", true),
    ("apis/batch/v1", "jobs", "Job", true),
    ("apis/app.alauda.io/v1", "helmrequests", "HelmRequest", true),
    (
        "apis/app.alauda.io/v1beta1",
        "chartrepos",
        "ChartRepo",
        true,
    ),
];

impl FakeApi {
    /// Starts the server on a free loopback port, on a runtime of its own.
    pub fn start() -> FakeApi {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        runtime.spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let st = st.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, st).await;
                });
            }
        });
        FakeApi {
            url,
            state,
            runtime: Some(runtime),
        }
    }

    /// Writes a kubeconfig for this server into `dir` (namespace `ns`) and returns its path.
    pub fn kubeconfig(&self, dir: &std::path::Path, ns: &str) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {ns}\n\
             current-context: fake\nusers:\n- name: fake\n  user:\n    token: fake\n",
            self.url
        );
        std::fs::write(&path, text).expect("kubeconfig");
        path
    }

    /// Stores an object as if created through the API.
    pub fn insert(&self, resource: &str, ns: &str, obj: Value) {
        let name = obj["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        let mut st = self.state.lock().expect("state");
        st.objects
            .insert((resource.to_string(), ns.to_string(), name), obj);
    }

    /// The requests seen so far, as `METHOD /path?query`.
    pub fn log(&self) -> Vec<String> {
        self.state.lock().expect("state").log.clone()
    }

    /// The stored object at `prefix/plural` (e.g. `api/v1/secrets`), namespace and name.
    pub fn object(&self, resource: &str, ns: &str, name: &str) -> Option<Value> {
        let st = self.state.lock().expect("state");
        st.objects
            .get(&(resource.to_string(), ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Every stored object of a resource in a namespace, by name.
    pub fn objects(&self, resource: &str, ns: &str) -> BTreeMap<String, Value> {
        let st = self.state.lock().expect("state");
        st.objects
            .iter()
            .filter(|((r, n, _), _)| r == resource && n == ns)
            .map(|((_, _, name), v)| (name.clone(), v.clone()))
            .collect()
    }
}

struct Request {
    content_type: String,
    method: String,
    path: String,
    query: String,
    body: Vec<u8>,
}

async fn serve(sock: tokio::net::TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut length = 0usize;
        let mut chunked = false;
        let mut content_type = String::new();
        loop {
            let mut h = String::new();
            if rd.read_line(&mut h).await? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-type" {
                    content_type = v.trim().to_string();
                } else if k == "content-length" {
                    length = v.trim().parse().unwrap_or(0);
                } else if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                rd.read_line(&mut size).await?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                rd.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(length, 0);
            rd.read_exact(&mut body).await?;
        }
        let (path, query) = target
            .split_once('?')
            .map(|(p, q)| (p.to_string(), q.to_string()))
            .unwrap_or((target.clone(), String::new()));
        let req = Request {
            content_type,
            method,
            path,
            query,
            body,
        };
        let (status, reply) = handle(&req, &state);
        let bytes = serde_json::to_vec(&reply).expect("JSON");
        let head = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            reason(status),
            bytes.len()
        );
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(&bytes).await?;
        wr.flush().await?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    }
}

fn failure(code: u16, reason: &str, message: String) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

fn decode_query(q: &str, key: &str) -> Option<String> {
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn selector_matches(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once("!=") {
            Some((k, v)) => labels[k.trim()].as_str() != Some(v.trim()),
            None => {
                let (k, v) = term
                    .split_once("==")
                    .or(term.split_once('='))
                    .unwrap_or((term, ""));
                labels[k.trim()].as_str() == Some(v.trim())
            }
        })
}

/// RFC 7386: a patch object merges into the target (made an object if it was not), `null`
/// removes a key, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Some(t) = target.as_object_mut() {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn handle(req: &Request, state: &Mutex<State>) -> (u16, Value) {
    let mut st = state.lock().expect("state");
    let entry = if req.query.is_empty() {
        format!("{} {}", req.method, req.path)
    } else {
        format!("{} {}?{}", req.method, req.path, req.query)
    };
    st.log.push(entry);
    let path = req.path.trim_start_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["version"]) => {
            return (
                200,
                json!({"major": "1", "minor": "31", "gitVersion": "v1.31.0",
                       "gitCommit": "0", "gitTreeState": "clean", "buildDate": "2024-08-13T00:00:00Z",
                       "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"}),
            );
        }
        ("GET", ["api"]) => {
            return (
                200,
                json!({"kind": "APIVersions", "versions": ["v1"],
                       "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            );
        }
        ("GET", ["apis"]) => {
            let group = |g: &str| {
                json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}],
                       "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}})
            };
            return (
                200,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [group("apps"), group("batch"), group("app.alauda.io")]}),
            );
        }
        ("GET", ["api", "v1"]) | ("GET", ["apis", _, "v1"]) => {
            let gv = path.to_string();
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|(p, ..)| *p == gv)
                .map(|(_, plural, kind, namespaced)| {
                    json!({"name": plural, "singularName": "", "namespaced": namespaced, "kind": kind,
                           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
                })
                .collect();
            let group_version = gv.trim_start_matches("apis/").trim_start_matches("api/");
            return (
                200,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                       "resources": resources}),
            );
        }
        _ => {}
    }
    // Namespaced object paths: <gv...>/namespaces/<ns>/<plural>[/<name>]
    let Some(ns_at) = segs.iter().position(|s| *s == "namespaces") else {
        return failure(404, "NotFound", format!("the server could not find {path}"));
    };
    if segs.len() < ns_at + 3 {
        return failure(404, "NotFound", format!("the server could not find {path}"));
    }
    let gv = segs[..ns_at].join("/");
    let ns = segs[ns_at + 1].to_string();
    let plural = segs[ns_at + 2];
    let Some((_, _, kind, _)) = RESOURCES
        .iter()
        .find(|(p, pl, ..)| *p == gv && *pl == plural)
    else {
        return failure(404, "NotFound", format!("the server could not find {path}"));
    };
    let resource = format!("{gv}/{plural}");
    let api_version = gv
        .trim_start_matches("apis/")
        .trim_start_matches("api/")
        .to_string();
    let name = segs.get(ns_at + 3).map(|s| s.to_string());
    let body: Value = if req.content_type.contains("protobuf") {
        // client-go's typed clients (Helm's storage driver) send Secrets as protobuf.
        match (plural, protobuf::secret_to_json(&req.body)) {
            ("secrets", Some(v)) => v,
            _ => {
                return failure(
                    415,
                    "UnsupportedMediaType",
                    format!("cannot read a {} body for {plural}", req.content_type),
                );
            }
        }
    } else if req.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return failure(
                    400,
                    "BadRequest",
                    format!("body ({}) is not JSON: {e}", req.content_type),
                );
            }
        }
    };
    st.next_version += 1;
    let rv = st.next_version.to_string();
    let not_found = |n: &str| failure(404, "NotFound", format!("{plural} \"{n}\" not found"));
    let stamp = |mut obj: Value, rv: &str| {
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(kind);
        obj["metadata"]["namespace"] = json!(ns);
        obj["metadata"]["resourceVersion"] = json!(rv);
        if obj["metadata"]["creationTimestamp"].is_null() {
            obj["metadata"]["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
        }
        obj
    };
    match (req.method.as_str(), name) {
        ("GET", None) => {
            let selector = decode_query(&req.query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = st
                .objects
                .iter()
                .filter(|((r, n, _), o)| {
                    *r == resource
                        && *n == ns
                        && selector_matches(&selector, &o["metadata"]["labels"])
                })
                .map(|(_, o)| o.clone())
                .collect();
            (
                200,
                json!({"kind": format!("{kind}List"), "apiVersion": api_version,
                       "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        ("GET", Some(n)) => match st.objects.get(&(resource.clone(), ns.clone(), n.clone())) {
            Some(o) => (200, o.clone()),
            None => not_found(&n),
        },
        ("POST", None) => {
            let n = body["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let key = (resource, ns.clone(), n.clone());
            if st.objects.contains_key(&key) {
                return failure(
                    409,
                    "AlreadyExists",
                    format!("{plural} \"{n}\" already exists"),
                );
            }
            let obj = stamp(body, &rv);
            st.objects.insert(key, obj.clone());
            (201, obj)
        }
        ("PUT", Some(n)) => {
            let key = (resource, ns.clone(), n.clone());
            if !st.objects.contains_key(&key) {
                return not_found(&n);
            }
            let obj = stamp(body, &rv);
            st.objects.insert(key, obj.clone());
            (200, obj)
        }
        ("PATCH", Some(n)) => {
            let key = (resource, ns.clone(), n.clone());
            let apply = req.query.contains("fieldManager=") && req.query.contains("force=");
            let obj = match (st.objects.get(&key).cloned(), apply) {
                (_, true) => stamp(body, &rv),
                (Some(mut live), false) => {
                    merge_patch(&mut live, &body);
                    stamp(live, &rv)
                }
                (None, false) => return not_found(&n),
            };
            st.objects.insert(key, obj.clone());
            (200, obj)
        }
        ("DELETE", Some(n)) => match st.objects.remove(&(resource, ns.clone(), n.clone())) {
            Some(_) => (
                200,
                json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
            ),
            None => not_found(&n),
        },
        _ => failure(405, "MethodNotAllowed", format!("{} {path}", req.method)),
    }
}

/// Just enough protobuf to read the `Secret` client-go sends: the `k8s\0` envelope
/// (`runtime.Unknown`), then `Secret` {metadata: ObjectMeta {name, namespace, labels}, data,
/// type}.
mod protobuf {
    use serde_json::{Value, json};

    /// Fields of a message: (number, wire type, varint value or bytes).
    fn fields(mut b: &[u8]) -> Option<Vec<(u64, &[u8])>> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b)?;
            let (num, wire) = (key >> 3, key & 7);
            match wire {
                0 => {
                    varint(&mut b)?;
                }
                1 => b = b.get(8..)?,
                5 => b = b.get(4..)?,
                2 => {
                    let n = usize::try_from(varint(&mut b)?).ok()?;
                    out.push((num, b.get(..n)?));
                    b = &b[n..];
                }
                _ => return None,
            }
        }
        Some(out)
    }

    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (first, rest) = b.split_first()?;
            *b = rest;
            v |= u64::from(first & 0x7f) << shift;
            if first & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    /// A map entry {1: key, 2: value}.
    fn entry(b: &[u8]) -> Option<(String, &[u8])> {
        let f = fields(b)?;
        let key = f.iter().find(|(n, _)| *n == 1).map(|(_, v)| text(v))?;
        let value = f.iter().find(|(n, _)| *n == 2).map_or(&[][..], |(_, v)| v);
        Some((key, value))
    }

    pub fn secret_to_json(body: &[u8]) -> Option<Value> {
        let unknown = fields(body.strip_prefix(b"k8s\0")?)?;
        let raw = unknown.iter().find(|(n, _)| *n == 2)?.1;
        let mut secret = json!({"metadata": {}});
        for (n, v) in fields(raw)? {
            match n {
                1 => {
                    for (m, mv) in fields(v)? {
                        match m {
                            1 => secret["metadata"]["name"] = json!(text(mv)),
                            3 => secret["metadata"]["namespace"] = json!(text(mv)),
                            11 => {
                                let (k, val) = entry(mv)?;
                                secret["metadata"]["labels"][k] = json!(text(val));
                            }
                            _ => {}
                        }
                    }
                }
                2 => {
                    let (k, val) = entry(v)?;
                    secret["data"][k] =
                        serde_json::to_value(k8s_openapi::ByteString(val.to_vec())).ok()?;
                }
                3 => secret["type"] = json!(text(v)),
                _ => {}
            }
        }
        Some(secret)
    }
}
