//! Where a pod's network comes from: the NB Logical_Switch_Port in manifest mode, the pod's
//! annotations through the Kubernetes API in a cluster. Plugging and the node port ask this
//! one type and do not care which.

use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::watch;

use crate::cluster::ClusterSource;
use crate::error::Result;
use crate::nb::Northbound;
use crate::network::PortNetwork;

/// The source of pods' and the node's networks.
#[derive(Debug, Clone)]
pub enum NetworkSource {
    /// Manifest mode: NB ports `<pod>.<ns>` and `node-<node>`, written by the controller.
    Northbound(Northbound),
    /// Cluster mode: `ovn.kubernetes.io/` annotations on Pods and the Node.
    Cluster(ClusterSource),
}

impl NetworkSource {
    /// Waits up to `timeout` for the controller to allocate pod `namespace/name`.
    pub async fn pod_network(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<PortNetwork> {
        match self {
            NetworkSource::Northbound(nb) => {
                nb.wait_port(&format!("{name}.{namespace}"), timeout).await
            }
            NetworkSource::Cluster(api) => api.pod_network(namespace, name, timeout).await,
        }
    }

    /// Pod `namespace/name`'s network now, without waiting; `None` when unknown.
    pub async fn current_pod_network(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<PortNetwork>> {
        match self {
            NetworkSource::Northbound(nb) => nb.port_network(&format!("{name}.{namespace}")),
            NetworkSource::Cluster(api) => api.current_pod_network(namespace, name).await,
        }
    }

    /// Waits up to `timeout` for the controller to give `node` its join address (ovn0's
    /// network, logical port `node-<node>`).
    pub async fn node_network(&self, node: &str, timeout: Duration) -> Result<PortNetwork> {
        match self {
            NetworkSource::Northbound(nb) => nb.wait_port(&format!("node-{node}"), timeout).await,
            NetworkSource::Cluster(api) => api.node_network(node, timeout).await,
        }
    }

    /// `node`'s join network now, without waiting; `None` while it is not allocated.
    pub fn current_node_network(&self, node: &str) -> Result<Option<PortNetwork>> {
        match self {
            NetworkSource::Northbound(nb) => nb.port_network(&format!("node-{node}")),
            NetworkSource::Cluster(api) => api.current_node_network(node),
        }
    }

    /// The pod subnets' CIDRs the node routes through ovn0, all but the join subnet `join`.
    pub fn pod_subnets(&self, join: &str) -> Vec<IpNet> {
        match self {
            NetworkSource::Northbound(nb) => nb.pod_subnets(join),
            NetworkSource::Cluster(api) => api.pod_subnets(join),
        }
    }

    /// A receiver that changes whenever the subnets or the node's join network may have.
    pub fn changes(&self) -> watch::Receiver<u64> {
        match self {
            NetworkSource::Northbound(nb) => nb.changes(),
            NetworkSource::Cluster(api) => api.changes(),
        }
    }
}
