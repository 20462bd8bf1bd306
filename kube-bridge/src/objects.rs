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
    pub fn load_dir(dir: &Path) -> Result<(Objects, Vec<InputError>), Error> {
        let mut files = Vec::new();
        collect_yaml(dir, &mut files)?;
        files.sort();
        let mut objects = Objects::default();
        let mut errors = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::Read {
                path: file.clone(),
                source: e,
            })?;
            objects.add_yaml(&file, &text, &mut errors);
        }
        Ok((objects, errors))
    }

    /// Adds the documents of one YAML text (read from `file`).
    pub fn add_yaml(&mut self, file: &Path, text: &str, errors: &mut Vec<InputError>) {
        // A manifest directory of a large cluster holds many thousand documents per file;
        // the parser's default budget (1,024 documents, 250,000 nodes) would refuse it.
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_documents: 10_000_000,
                max_nodes: 500_000_000,
            },
        };
        let docs: Vec<serde_json::Value> =
            match serde_saphyr::from_multiple_with_options(text, options) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(InputError {
                        file: Some(file.to_owned()),
                        object: String::new(),
                        field: String::new(),
                        message: format!("not valid YAML: {e}"),
                    });
                    return;
                }
            };
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
