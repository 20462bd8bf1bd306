//! The Kubernetes objects the controller works from, whatever their source (the API server's
//! watches or a manifest directory), and the manifest-directory source itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        for file in yaml_files(dir)? {
            let text = read_file(&file)?;
            objects.add_yaml(&file, &text, &mut errors);
        }
        Ok((objects, errors))
    }

    /// Adds the documents of one YAML text (read from `file`).
    pub fn add_yaml(&mut self, file: &Path, text: &str, errors: &mut Vec<InputError>) {
        match parse_documents(file, text) {
            Ok(docs) => self.add_documents(file, docs, errors),
            Err(e) => errors.push(e),
        }
    }

    fn add_documents(
        &mut self,
        file: &Path,
        docs: Vec<serde_json::Value>,
        errors: &mut Vec<InputError>,
    ) {
        for (document, doc) in docs.into_iter().enumerate() {
            if doc.is_null() {
                continue;
            }
            let origin = Origin {
                file: file.to_owned(),
                document,
            };
            if let Err(e) = self.add_value(doc, origin) {
                errors.push(e);
            }
        }
    }

    /// Adds one object given as JSON (a manifest document or an API object).
    pub fn add_value(&mut self, doc: serde_json::Value, origin: Origin) -> Result<(), InputError> {
        let fail = |object: String, field: &str, message: String| InputError {
            file: Some(origin.file.clone()),
            object,
            field: field.to_owned(),
            message,
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
        let key = (namespace.clone(), name.clone());
        macro_rules! put {
            ($map:expr, $key:expr) => {{
                let obj =
                    typed(doc).map_err(|(field, message)| fail(oref.clone(), &field, message))?;
                $map.insert($key, obj);
            }};
        }
        match (api_version.as_str(), kind.as_str()) {
            ("v1", "Namespace") => put!(self.namespaces, name),
            ("v1", "Node") => put!(self.nodes, name),
            ("v1", "Pod") => put!(self.pods, key),
            ("v1", "Service") => put!(self.services, key),
            ("discovery.k8s.io/v1", "EndpointSlice") => put!(self.endpoint_slices, key),
            ("networking.k8s.io/v1", "NetworkPolicy") => put!(self.network_policies, key),
            ("kubeovn.io/v1", "Subnet") => put!(self.subnets, name),
            ("kubeovn.io/v1", "Vpc") => put!(self.vpcs, name),
            ("kubeovn.io/v1", "IP") => put!(self.ips, name),
            // Other kinds (Deployments, ConfigMaps, …) are not the network's business.
            _ => return Ok(()),
        }
        self.origins.insert(oref, origin);
        Ok(())
    }
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
    /// Files that are not valid YAML and never were while watched: what they hold is unknown,
    /// so converging now could delete what they declare.
    pub unknown: Vec<PathBuf>,
}

impl ManifestDir {
    /// Reads the directory as [`Objects::load_dir`] does, standing in the last valid contents
    /// of a file that does not parse.
    pub fn load(&mut self, dir: &Path) -> Result<ManifestLoad, Error> {
        let mut load = ManifestLoad::default();
        let mut seen = BTreeMap::new();
        for file in yaml_files(dir)? {
            let text = read_file(&file)?;
            match parse_documents(&file, &text) {
                Ok(docs) => {
                    load.objects.add_documents(&file, docs, &mut load.errors);
                    seen.insert(file, text);
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
