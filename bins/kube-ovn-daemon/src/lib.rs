//! `kube-ovn-daemon`: the node agent. It serves the `kube-ovn` CNI plugin on a unix socket and
//! plugs pod network namespaces into `br-int`: a veth pair (rtnetlink), the pod's addresses,
//! MAC, MTU and routes, tx checksum offload off on the userspace datapath (ethtool netlink), and
//! an Open_vSwitch Port/Interface bound to the pod's logical port (our ovsdb-client). It also
//! creates the node's own port `ovn0` on the join subnet.
//!
//! It learns a pod's network from the controller ([`source::NetworkSource`]): in a cluster
//! from the pod's `ovn.kubernetes.io/` annotations through the Kubernetes API, in manifest mode
//! from the NB Logical_Switch_Port `<pod>.<ns>` (its `external_ids` use the annotation names).
//! It must not know how addresses are allocated or how OVN's logical network is built: it only
//! reads what the controller wrote.

pub mod cluster;
pub mod error;
pub mod ethtool;
pub mod nb;
pub mod netlink;
pub mod network;
pub mod node;
pub mod ovs;
pub mod pinger;
pub mod plug;
pub mod server;
pub mod source;

pub use error::{Error, Result};
