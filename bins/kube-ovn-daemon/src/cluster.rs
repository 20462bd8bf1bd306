//! Cluster mode: pods' and the node's networks from their `ovn.kubernetes.io/` annotations
//! through the Kubernetes API, as Kube-OVN's daemon reads them, and the Subnets the node routes
//! to through ovn0.
//!
//! ADD waits, with a bound, for the controller's `ovn.kubernetes.io/allocated=true`: it reads
//! the pod once, then watches that one pod (a field selector on its name) from the version it
//! read, so an annotation written in between is never missed and no polling interval delays it.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use ipnet::IpNet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, WatchEvent, WatchParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use kube_bridge::annotations;
use kube_bridge::crd::Subnet;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::network::{PortNetwork, parse_network};

/// How long a lookup that must not wait (DEL's) may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// Between attempts when the API server failed or the object does not exist yet.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// The API server refuses watch timeouts above 295 s (kube checks it client-side too).
const MAX_WATCH_SECONDS: u64 = 290;

/// The Kubernetes API as the daemon reads it.
#[derive(Clone)]
pub struct ClusterSource {
    client: Client,
    subnets: Store<Subnet>,
    /// The node's own Node (a field selector on its name): at most one object.
    nodes: Store<Node>,
    changes: watch::Receiver<u64>,
}

impl Debug for ClusterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSource")
            .field("subnets", &self.subnets.state().len())
            .finish_non_exhaustive()
    }
}

impl ClusterSource {
    /// Starts watching Subnets (for ovn0's routes) and the Node `node` (for ovn0's own join
    /// address, which a re-created Node may get anew) in the background; pods are read when
    /// asked for. Needs a tokio runtime.
    pub fn start(client: Client, node: &str) -> ClusterSource {
        let (subnets, subnet_writer) = reflector::store();
        let (nodes, node_writer) = reflector::store();
        let (tx, changes) = watch::channel(0u64);
        let subnet_stream = reflector::reflector(
            subnet_writer,
            watcher(
                Api::<Subnet>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        )
        .map(|event| settled(event, "Subnets"));
        let node_stream = reflector::reflector(
            node_writer,
            watcher(
                Api::<Node>::all(client.clone()),
                watcher::Config::default().fields(&format!("metadata.name={node}")),
            )
            .default_backoff(),
        )
        .map(|event| settled(event, "its Node"));
        let stream = futures::stream::select(subnet_stream, node_stream);
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(settled) = stream.next().await {
                match settled {
                    Ok(true) => tx.send_modify(|n| *n += 1),
                    Ok(false) => {}
                    Err(error) => tracing::warn!("{error}"),
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        ClusterSource {
            client,
            subnets,
            nodes,
            changes,
        }
    }

    /// A receiver that changes whenever the Subnets or the node's own Node do.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Waits up to `timeout` for the controller to annotate pod `namespace/name` as allocated,
    /// and returns its network.
    pub async fn pod_network(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<PortNetwork> {
        let api = Api::<Pod>::namespaced(self.client.clone(), namespace);
        let object = format!("pod {namespace}/{name}");
        let found = wait_allocated(&api, name, &object, timeout).await?;
        network(&object, &format!("{name}.{namespace}"), &found)
    }

    /// Pod `namespace/name`'s network now, without waiting: `None` when the pod is gone or not
    /// allocated.
    pub async fn current_pod_network(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<PortNetwork>> {
        let api = Api::<Pod>::namespaced(self.client.clone(), namespace);
        let object = format!("pod {namespace}/{name}");
        let pod = tokio::time::timeout(LOOKUP_TIMEOUT, api.get_opt(name))
            .await
            .map_err(|_| Error::NotAllocated {
                object: object.clone(),
                seconds: LOOKUP_TIMEOUT.as_secs(),
                reason: "the API server did not answer".into(),
            })?
            .map_err(Error::kube(format!("get {object}")))?;
        match pod {
            Some(pod) if is_allocated(pod.annotations()) => {
                network(&object, &format!("{name}.{namespace}"), pod.annotations()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Waits up to `timeout` for the controller to annotate Node `node` with its join address
    /// (the network of ovn0, logical port `node-<node>`).
    pub async fn node_network(&self, node: &str, timeout: Duration) -> Result<PortNetwork> {
        let api = Api::<Node>::all(self.client.clone());
        let object = format!("node {node}");
        let found = wait_allocated(&api, node, &object, timeout).await?;
        network(&object, &format!("node-{node}"), &found)
    }

    /// Node `node`'s join network as last watched, without waiting: `None` while it is not
    /// allocated (or not watched yet).
    pub fn current_node_network(&self, node: &str) -> Result<Option<PortNetwork>> {
        let found = self
            .nodes
            .state()
            .into_iter()
            .find(|n| n.name_any() == node);
        match found {
            Some(found) if is_allocated(found.annotations()) => network(
                &format!("node {node}"),
                &format!("node-{node}"),
                found.annotations(),
            )
            .map(Some),
            _ => Ok(None),
        }
    }

    /// The CIDRs of the default Vpc's Subnets but the join subnet `join`: what the node routes
    /// through ovn0 (other Vpcs are not reachable through the join gateway).
    pub fn pod_subnets(&self, join: &str) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = self
            .subnets
            .state()
            .iter()
            .filter(|s| s.name_any() != join)
            .filter(|s| {
                s.spec
                    .vpc
                    .as_deref()
                    .is_none_or(|v| v.is_empty() || v == kube_bridge::translate::DEFAULT_VPC)
            })
            .flat_map(|s| {
                s.spec
                    .cidr_block
                    .split(',')
                    .filter_map(|c| c.trim().parse::<IpNet>().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Whether a watch event completes a change (`true`), is part of a relist still under way
/// (`false`: a relist reports its objects one by one, the set is complete at InitDone), or
/// failed (the error, naming what was watched).
fn settled<K>(
    event: std::result::Result<watcher::Event<K>, watcher::Error>,
    what: &str,
) -> std::result::Result<bool, String> {
    match event {
        Ok(watcher::Event::Init | watcher::Event::InitApply(_)) => Ok(false),
        Ok(_) => Ok(true),
        Err(error) => Err(format!("watching {what}: {error}")),
    }
}

fn is_allocated(annotations: &BTreeMap<String, String>) -> bool {
    annotations.get(annotations::ALLOCATED).map(String::as_str) == Some("true")
}

/// The network an allocated object's annotations describe.
fn network(object: &str, port: &str, found: &BTreeMap<String, String>) -> Result<PortNetwork> {
    let bad = |field: &str, reason: String| Error::BadAnnotation {
        object: object.to_owned(),
        annotation: format!("{}{field}", annotations::PREFIX),
        reason,
    };
    let parsed = parse_network(port, |field| {
        found
            .get(&format!("{}{field}", annotations::PREFIX))
            .map(String::as_str)
    })
    .map_err(|e| bad(e.field, e.reason))?;
    parsed.ok_or_else(|| {
        let field = if found
            .get(annotations::IP_ADDRESS)
            .is_none_or(|v| v.trim().is_empty())
        {
            "ip_address"
        } else {
            "mac_address"
        };
        bad(
            field,
            format!("missing or empty although {}=true", annotations::ALLOCATED),
        )
    })
}

/// Reads `name` until its annotations say `allocated=true`, watching it in between; gives up
/// after `timeout` with an error naming `object` and what was last seen.
async fn wait_allocated<K>(
    api: &Api<K>,
    name: &str,
    object: &str,
    timeout: Duration,
) -> Result<BTreeMap<String, String>>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let deadline = Instant::now() + timeout;
    let mut last = format!(
        "the controller has not annotated it {}=true",
        annotations::ALLOCATED
    );
    let expired = |last: String| Error::NotAllocated {
        object: object.to_owned(),
        seconds: timeout.as_secs(),
        reason: last,
    };
    loop {
        let got = match tokio::time::timeout_at(deadline, api.get_opt(name)).await {
            Err(_) => return Err(expired(last)),
            Ok(got) => got,
        };
        let version = match got {
            Ok(Some(found)) if is_allocated(found.annotations()) => {
                return Ok(found.annotations().clone());
            }
            Ok(Some(found)) => found.resource_version(),
            Ok(None) => {
                last = "it does not exist (yet)".to_owned();
                None
            }
            Err(error) => {
                last = format!("the API server: {error}");
                None
            }
        };
        match version {
            Some(version) => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                let seconds = remaining.as_secs().clamp(1, MAX_WATCH_SECONDS);
                let params = WatchParams::default()
                    .fields(&format!("metadata.name={name}"))
                    .timeout(u32::try_from(seconds).unwrap_or(1));
                let watched = tokio::time::timeout_at(deadline, async {
                    let stream = api.watch(&params, &version).await?;
                    let mut stream = std::pin::pin!(stream);
                    while let Some(event) = stream.try_next().await? {
                        match event {
                            WatchEvent::Added(found) | WatchEvent::Modified(found)
                                if is_allocated(found.annotations()) =>
                            {
                                return Ok(Some(found.annotations().clone()));
                            }
                            WatchEvent::Deleted(_) => return Ok(None),
                            // Expired version and the like: read it again.
                            WatchEvent::Error(status) => {
                                return Err(kube::Error::Api(status));
                            }
                            _ => {}
                        }
                    }
                    // The server ended the watch (its timeout): read it again.
                    Ok(None)
                })
                .await;
                match watched {
                    Err(_) => return Err(expired(last)),
                    Ok(Ok(Some(found))) => return Ok(found),
                    Ok(Ok(None)) => {}
                    Ok(Err(error)) => {
                        last = format!("watching it: {error}");
                        pause_until(deadline).await;
                    }
                }
            }
            None => pause_until(deadline).await,
        }
        if Instant::now() >= deadline {
            return Err(expired(last));
        }
    }
}

async fn pause_until(deadline: Instant) {
    tokio::time::sleep_until(deadline.min(Instant::now() + RETRY_PAUSE)).await;
}

#[cfg(test)]
mod tests;
