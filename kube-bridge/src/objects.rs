//! The Kubernetes objects the controller works from, whatever their source (the API server's
//! watches or a manifest directory), and the manifest-directory source itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::de::DeserializeOwned;

use crate::crd::{IP, Subnet, Vpc};
use crate::error::{Error, InputError};

/// A namespaced object's key: `(namespace, name)`.
pub type NsName = (String, String);

/// Where an object was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: PathBuf,
    /// The document's position in the file (0-based).
    pub document: usize,
}

/// Every object the translation needs.
#[derive(Debug, Clone, Default)]
pub struct Objects {
    /// Namespaces by name.
    pub namespaces: BTreeMap<String, Namespace>,
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Pods.
    pub pods: BTreeMap<NsName, Pod>,
    /// Services.
    pub services: BTreeMap<NsName, Service>,
    /// EndpointSlices.
    pub endpoint_slices: BTreeMap<NsName, EndpointSlice>,
    /// NetworkPolicies.
    pub network_policies: BTreeMap<NsName, NetworkPolicy>,
    /// Subnets by name.
    pub subnets: BTreeMap<String, Subnet>,
    /// Vpcs by name.
    pub vpcs: BTreeMap<String, Vpc>,
    /// IP records by name.
    pub ips: BTreeMap<String, IP>,
    /// Where each object came from, by `Kind/namespace/name` (manifest mode).
    pub origins: BTreeMap<String, Origin>,
    /// Objects that are declared (their kind, namespace and name are known) but whose
    /// contents do not decode, by `Kind/namespace/name`, with where they are declared. They
    /// are absent from the maps above, yet not deleted: whatever NB and IPAM hold for them
    /// must be kept as it is until they decode again.
    pub held: BTreeMap<String, Origin>,
}

/// The identity of an object in messages: `Kind/namespace/name` or `Kind/name`.
pub fn object_ref(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

impl Objects {
    /// Where an object came from, for error messages.
    pub fn origin(&self, object: &str) -> Option<&Origin> {
        self.origins.get(object)
    }

    /// An input error about `object` (`Kind/ns/name`), naming its file when it came from one.
    pub fn input_error(
        &self,
        object: String,
        field: impl Into<String>,
        message: String,
    ) -> InputError {
        InputError {
            file: self.origin(&object).map(|o| o.file.clone()),
            object,
            field: field.into(),
            message,
        }
    }

    /// Reads every `*.yaml`/`*.yml` under `dir` (recursively, in name order). Documents of kinds
    /// the controller does not use are skipped. The objects that parse are returned with the
    /// errors of those that do not, each naming the file and the field.
    ///
    /// A file that is not valid YAML contributes nothing here; a caller that converges
    /// repeatedly should use [`ManifestDir`], which keeps such a file's last valid contents.
    pub fn load_dir(dir: &Path) -> Result<(Objects, Vec<InputError>), Error> {
        let mut objects = Objects::default();
        let mut errors = Vec::new();
        for read in read_all(yaml_files(dir)?)? {
            match read.docs {
                Ok(docs) => objects.add_decoded(docs, &mut errors),
                Err(e) => errors.push(e),
            }
        }
        Ok((objects, errors))
    }

    /// Adds the documents of one YAML text (read from `file`).
    pub fn add_yaml(&mut self, file: &Path, text: &str, errors: &mut Vec<InputError>) {
        match decode_text(file, text) {
            Ok(docs) => self.add_decoded(docs, errors),
            Err(e) => errors.push(e),
        }
    }

    fn add_decoded(&mut self, docs: Vec<DocOutcome>, errors: &mut Vec<InputError>) {
        for doc in docs {
            match doc {
                Ok(Some(d)) => self.insert(d),
                Ok(None) => {}
                Err(undecoded) => {
                    let Undecoded { error, held } = *undecoded;
                    if let Some((oref, origin)) = held {
                        self.held.insert(oref, origin);
                    }
                    errors.push(error);
                }
            }
        }
    }

    /// Adds one object given as JSON (a manifest document or an API object). An object of a
    /// known kind and name whose contents do not decode is recorded in [`Objects::held`].
    pub fn add_value(&mut self, doc: serde_json::Value, origin: Origin) -> Result<(), InputError> {
        match decode(doc, origin) {
            Ok(Some(d)) => {
                self.insert(d);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(undecoded) => {
                let Undecoded { error, held } = *undecoded;
                if let Some((oref, origin)) = held {
                    self.held.insert(oref, origin);
                }
                Err(error)
            }
        }
    }

    fn insert(&mut self, d: Decoded) {
        match d.object {
            Typed::Namespace(name, o) => {
                self.namespaces.insert(name, *o);
            }
            Typed::Node(name, o) => {
                self.nodes.insert(name, *o);
            }
            Typed::Pod(key, o) => {
                self.pods.insert(key, *o);
            }
            Typed::Service(key, o) => {
                self.services.insert(key, *o);
            }
            Typed::EndpointSlice(key, o) => {
                self.endpoint_slices.insert(key, *o);
            }
            Typed::NetworkPolicy(key, o) => {
                self.network_policies.insert(key, *o);
            }
            Typed::Subnet(name, o) => {
                self.subnets.insert(name, *o);
            }
            Typed::Vpc(name, o) => {
                self.vpcs.insert(name, *o);
            }
            Typed::Ip(name, o) => {
                self.ips.insert(name, *o);
            }
        }
        self.held.remove(&d.oref);
        self.origins.insert(d.oref, d.origin);
    }
}

/// A typed object with its key (boxed: the typed objects differ a lot in size).
#[derive(Debug, Clone)]
enum Typed {
    Namespace(String, Box<Namespace>),
    Node(String, Box<Node>),
    Pod(NsName, Box<Pod>),
    Service(NsName, Box<Service>),
    EndpointSlice(NsName, Box<EndpointSlice>),
    NetworkPolicy(NsName, Box<NetworkPolicy>),
    Subnet(String, Box<Subnet>),
    Vpc(String, Box<Vpc>),
    Ip(String, Box<IP>),
}

/// One document decoded.
#[derive(Debug, Clone)]
struct Decoded {
    /// `Kind/namespace/name`.
    oref: String,
    origin: Origin,
    object: Typed,
}

/// A document that did not decode.
#[derive(Debug, Clone)]
struct Undecoded {
    error: InputError,
    /// The object's identity (`Kind/namespace/name`) and origin, when they are known (the
    /// document names a kind the controller uses and a name): the object must be held.
    held: Option<(String, Origin)>,
}

/// Decodes one document; `Ok(None)` for kinds the controller does not use.
fn decode(doc: serde_json::Value, origin: Origin) -> Result<Option<Decoded>, Box<Undecoded>> {
    let fail = |object: String, field: &str, message: String| {
        Box::new(Undecoded {
            error: InputError {
                file: Some(origin.file.clone()),
                object,
                field: field.to_owned(),
                message,
            },
            held: None,
        })
    };
    let api_version = doc
        .get("apiVersion")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let Some(kind) = doc.get("kind").and_then(|v| v.as_str()).map(str::to_owned) else {
        return Err(fail(
            format!("document {}", origin.document),
            "kind",
            "missing or not a string".into(),
        ));
    };
    let used = matches!(
        (api_version.as_str(), kind.as_str()),
        ("v1", "Namespace" | "Node" | "Pod" | "Service")
            | ("discovery.k8s.io/v1", "EndpointSlice")
            | ("networking.k8s.io/v1", "NetworkPolicy")
            | ("kubeovn.io/v1", "Subnet" | "Vpc" | "IP")
    );
    // Other kinds (Deployments, ConfigMaps, …) are not the network's business.
    if !used {
        return Ok(None);
    }
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_owned();
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(|n| n.as_str())
        .unwrap_or("default")
        .to_owned();
    if name.is_empty() {
        return Err(fail(
            format!("{kind} (document {})", origin.document),
            "metadata.name",
            "missing".into(),
        ));
    }
    let namespaced = matches!(
        kind.as_str(),
        "Pod" | "Service" | "EndpointSlice" | "NetworkPolicy"
    );
    let oref = object_ref(&kind, namespaced.then_some(namespace.as_str()), &name);
    let key = (namespace, name.clone());
    macro_rules! typed {
        ($variant:ident, $key:expr) => {
            match typed(doc) {
                Ok(obj) => Typed::$variant($key, Box::new(obj)),
                Err((field, message)) => {
                    let mut e = fail(oref.clone(), &field, message);
                    e.held = Some((oref, origin));
                    return Err(e);
                }
            }
        };
    }
    let object = match kind.as_str() {
        "Namespace" => typed!(Namespace, name),
        "Node" => typed!(Node, name),
        "Pod" => typed!(Pod, key),
        "Service" => typed!(Service, key),
        "EndpointSlice" => typed!(EndpointSlice, key),
        "NetworkPolicy" => typed!(NetworkPolicy, key),
        "Subnet" => typed!(Subnet, name),
        "Vpc" => typed!(Vpc, name),
        _ => typed!(Ip, name),
    };
    Ok(Some(Decoded {
        oref,
        origin,
        object,
    }))
}

/// Deserializes a typed object, reporting the path of the field at fault.
fn typed<T: DeserializeOwned>(doc: serde_json::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        (
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )
    })
}

/// A manifest directory read again and again (watch mode). A file that stops being valid YAML
/// keeps standing for its last valid contents: reading it as empty would make its pods look
/// deleted, and they would lose their ports and addresses over a typo.
#[derive(Debug, Default)]
pub struct ManifestDir {
    last_valid: BTreeMap<PathBuf, String>,
}

/// One read of a [`ManifestDir`].
#[derive(Debug, Default)]
pub struct ManifestLoad {
    /// The objects: from each file as it is now, or as it last parsed.
    pub objects: Objects,
    /// Every input error, invalid files included.
    pub errors: Vec<InputError>,
    /// Files whose contents are not wholly known: not valid YAML and never were while watched,
    /// or declaring an object that does not decode and never did while watched (it is in
    /// `objects.held`) of a kind whose rows cannot simply be kept (a Namespace, Subnet,
    /// EndpointSlice or IP). Converging now could delete or misplace what they declare.
    pub unknown: Vec<PathBuf>,
}

impl ManifestDir {
    /// Reads the directory as [`Objects::load_dir`] does, standing in the last valid contents
    /// of a file that does not parse, and the last valid version of an object that does not
    /// decode. An object that does not decode and has no earlier valid version is held
    /// ([`Objects::held`]: the controller keeps what a held Pod, Node, Service, NetworkPolicy
    /// or Vpc has); a held object of another kind also lists its file in
    /// [`ManifestLoad::unknown`].
    pub fn load(&mut self, dir: &Path) -> Result<ManifestLoad, Error> {
        let mut load = ManifestLoad::default();
        let mut seen = BTreeMap::new();
        for FileRead { file, text, docs } in read_all(yaml_files(dir)?)? {
            match docs {
                Ok(docs) => {
                    let mut undecoded = Vec::new();
                    for doc in docs {
                        match doc {
                            Ok(Some(d)) => load.objects.insert(d),
                            Ok(None) => {}
                            Err(u) => match *u {
                                Undecoded { error, held: None } => load.errors.push(error),
                                Undecoded {
                                    error,
                                    held: Some(held),
                                } => undecoded.push((error, held)),
                            },
                        }
                    }
                    if undecoded.is_empty() {
                        seen.insert(file, text);
                        continue;
                    }
                    // Declared objects whose contents do not decode: reading them as absent
                    // would delete their ports and release their addresses. The version the
                    // file last held when it was wholly valid stands for each; with none,
                    // the object is held.
                    let previous = self.last_valid.remove(&file);
                    let mut earlier: BTreeMap<String, Decoded> = previous
                        .as_deref()
                        .and_then(|t| decode_text(&file, t).ok())
                        .into_iter()
                        .flatten()
                        .filter_map(|d| d.ok().flatten())
                        .map(|d| (d.oref.clone(), d))
                        .collect();
                    let mut unknown = false;
                    for (mut error, (oref, origin)) in undecoded {
                        match earlier.remove(&oref) {
                            Some(d) => {
                                error.message.push_str("; its last valid version stands");
                                load.objects.insert(d);
                            }
                            None if holds_in_place(&oref) => {
                                error
                                    .message
                                    .push_str("; held: what it has is kept until it decodes");
                                load.objects.held.insert(oref, origin);
                            }
                            None => {
                                error
                                    .message
                                    .push_str("; held: nothing is written until it decodes");
                                load.objects.held.insert(oref, origin);
                                unknown = true;
                            }
                        }
                        load.errors.push(error);
                    }
                    if unknown {
                        load.unknown.push(file.clone());
                    }
                    if let Some(previous) = previous {
                        seen.insert(file, previous);
                    }
                }
                Err(mut e) => {
                    match self.last_valid.remove(&file) {
                        Some(previous) => {
                            e.message.push_str("; its last valid contents stand");
                            load.objects.add_yaml(&file, &previous, &mut load.errors);
                            seen.insert(file, previous);
                        }
                        None => load.unknown.push(file),
                    }
                    load.errors.push(e);
                }
            }
        }
        // A file that is gone is deleted on purpose: its objects go with it.
        self.last_valid = seen;
        Ok(load)
    }
}

/// Whether the controller keeps what a held object of this kind has (its NB rows, and for
/// pods and nodes their addresses) while converging the rest. Other kinds shape what
/// everything else becomes (a Namespace's labels select pods, a Subnet holds them), so while
/// one of those is held nothing is written.
fn holds_in_place(oref: &str) -> bool {
    ["Pod/", "Node/", "Service/", "NetworkPolicy/", "Vpc/"]
        .iter()
        .any(|kind| oref.starts_with(kind))
}

/// What one document became.
type DocOutcome = Result<Option<Decoded>, Box<Undecoded>>;

/// One manifest file read and decoded.
struct FileRead {
    file: PathBuf,
    text: String,
    /// Each (non-empty) document's outcome, or why the file is not valid YAML.
    docs: Result<Vec<DocOutcome>, InputError>,
}

/// Parses and decodes one file's text.
fn decode_text(file: &Path, text: &str) -> Result<Vec<DocOutcome>, InputError> {
    let docs = parse_documents(file, text)?;
    Ok(docs
        .into_iter()
        .enumerate()
        .filter(|(_, doc)| !doc.is_null())
        .map(|(document, doc)| {
            decode(
                doc,
                Origin {
                    file: file.to_owned(),
                    document,
                },
            )
        })
        .collect())
}

/// Reads, parses and decodes `files` on every core, results in the files' order: YAML parsing
/// and typed decoding are most of a pass over a large, unchanged directory.
fn read_all(files: Vec<PathBuf>) -> Result<Vec<FileRead>, Error> {
    let read = |file: &PathBuf| -> Result<FileRead, Error> {
        let text = read_file(file)?;
        let docs = decode_text(file, &text);
        Ok(FileRead {
            file: file.clone(),
            text,
            docs,
        })
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    if workers <= 1 {
        return files.iter().map(read).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<FileRead, Error>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        mine.push((i, read(file)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

fn parse_documents(file: &Path, text: &str) -> Result<Vec<serde_json::Value>, InputError> {
    // A manifest directory of a large cluster holds many thousand documents per file;
    // the parser's default budget (1,024 documents, 250,000 nodes) would refuse it.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: 10_000_000,
            max_nodes: 500_000_000,
        },
    };
    serde_saphyr::from_multiple_with_options(text, options).map_err(|e| InputError {
        file: Some(file.to_owned()),
        object: String::new(),
        field: String::new(),
        message: format!("not valid YAML: {e}"),
    })
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    files.sort();
    Ok(files)
}

fn read_file(file: &Path) -> Result<String, Error> {
    std::fs::read_to_string(file).map_err(|e| Error::Read {
        path: file.to_owned(),
        source: e,
    })
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Read {
        path: dir.to_owned(),
        source: e,
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::Read {
            path: dir.to_owned(),
            source: e,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "objects/tests.rs"]
mod tests;
