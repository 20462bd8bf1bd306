//! The physical network between chassis: one L2 segment that every [`Chassis`](crate::Chassis)
//! built with [`ChassisBuilder::underlay`](crate::ChassisBuilder::underlay) is cabled to, and
//! that carries their Geneve tunnels.
//!
//! # Topology
//!
//! ```text
//!  chassis namespace ovnt-…-A           underlay ovnu-…         chassis namespace ovnt-…-B
//! +----------------------------+       +--------------+       +----------------------------+
//! | br-int -- ovn-…-0 (geneve) |       |              |       | (geneve) ovn-…-0 -- br-int |
//! | br-phy 192.168.200.1/24    |       | br0 (bridge) |       |    192.168.200.2/24 br-phy |
//! |   +-- ul0 (veth) ----------+-------+-- ul1  ul2 --+-------+---------- (veth) ul0 --+   |
//! +----------------------------+       +--------------+       +----------------------------+
//! ```
//!
//! Why a bridge in a namespace of its own rather than one veth pair between two chassis: any
//! number of chassis can join, and deleting the underlay's namespace removes the bridge and all
//! the veth pairs (their chassis ends too).
//!
//! Why `br-phy`: ovs-vswitchd's userspace (`netdev`) datapath tunnels in userspace ("native
//! tunnelling"). It builds the outer headers itself, and to do that it needs, inside its own
//! process:
//! - a route to the remote tunnel endpoint (`ovs-appctl ovs/route/show`): ovs-vswitchd copies the
//!   kernel's routes of its network namespace over netlink, and when it builds a tunnel header
//!   it looks for the bridge *named like the route's device*, whose pipeline then carries the
//!   encapsulated packet out (here `NORMAL` on `br-phy`, to `ul0`);
//! - the remote endpoint's MAC address (`ovs-appctl tnl/arp/show`): learnt by snooping ARP that
//!   passes through that bridge, and asked for by ovs-vswitchd itself when missing (the first
//!   packets to a new endpoint are dropped meanwhile, so tests retry);
//! - for receiving, the local endpoint address on a bridge's internal port: a Geneve packet
//!   arriving on `ul0` and forwarded (`NORMAL`) to `br-phy`'s LOCAL port is decapsulated
//!   (`tnl_pop`) instead of being handed to the kernel.
//!
//! So each chassis gets a second netdev bridge `br-phy` with its underlay veth `ul0` as a port and
//! the encap address (`external_ids:ovn-encap-ip`) on `br-phy`'s own interface. With the address
//! on `ul0` instead, the route's device would be no bridge, so no tunnel header could be built.
//!
//! What the tests observed here (OVS 3.1, OVN 23.03, no kernel module): the kernel route
//! `192.168.200.0/24 dev br-phy` shows up in `ovs/route/show` within moments of the address;
//! `tnl/arp/show` learns the peer on `br-phy` on the first tunnelled packet; `dpctl/dump-flows`
//! shows `tnl_push(… geneve …)` on the sender and `tnl_pop` on the receiver; the pods' MTU
//! (1400) leaves room for the Geneve overhead on the 1500-byte underlay. `ping` is not
//! installed on these machines: the tests ping with `kube-ovn-pinger` (`ovn-tests-probe` does
//! TCP).

use std::sync::Mutex;

use crate::{NetNamespace, Result};

/// Prefix of underlay namespaces (the chassis use `ovnt`, pods `ovnp`).
const NAMESPACE_PREFIX: &str = "ovnu";

/// The bridge inside the underlay namespace.
const BRIDGE: &str = "br0";

/// The underlay's addresses, `SUBNET_PREFIX.N/24`. Every underlay lives in namespaces of its
/// own, so parallel tests may all use the same addresses.
const SUBNET_PREFIX: &str = "192.168.200";

/// An L2 segment (a Linux bridge in a [`NetNamespace`] of its own) that chassis are cabled to,
/// each with an address from `192.168.200.0/24`. Deleted, with every cable, on drop.
///
/// ```no_run
/// # fn main() -> ovn_tests::Result<()> {
/// use ovn_tests::{Chassis, OvnCentral, Underlay};
/// let central = OvnCentral::start()?;
/// let underlay = Underlay::new()?;
/// let a = Chassis::builder(&central.sb.remote()).underlay(&underlay).start()?;
/// let b = Chassis::builder(&central.sb.remote()).underlay(&underlay).start()?;
/// // A's kernel reaches B's br-phy through A's br-phy, the underlay and B's br-phy (any ping
/// // program; the tests use `kube-ovn-pinger`, as this machine has no `ping`).
/// a.exec(["kube-ovn-pinger", "ping", b.encap_ip()])?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Underlay {
    netns: NetNamespace,
    /// The last host number handed out.
    last_host: Mutex<u8>,
}

/// One chassis's cable to an [`Underlay`], reserved by [`Underlay::cable`] and laid when the
/// chassis namespace exists.
#[derive(Debug, Clone)]
pub(crate) struct Cable {
    /// The underlay namespace.
    pub(crate) underlay: String,
    /// The veth end on the underlay's bridge (`ulN`).
    pub(crate) port: String,
    /// The chassis's address on the segment.
    pub(crate) ip: String,
    /// Its prefix length.
    pub(crate) prefix_len: u8,
}

impl Underlay {
    /// Creates the namespace `ovnu-PID-N` with the bridge `br0`, up.
    pub fn new() -> Result<Self> {
        let netns = NetNamespace::new(NAMESPACE_PREFIX)?;
        netns.exec(["ip", "link", "add", BRIDGE, "type", "bridge"])?;
        netns.exec(["ip", "link", "set", BRIDGE, "up"])?;
        Ok(Underlay {
            netns,
            last_host: Mutex::new(0),
        })
    }

    /// The underlay's namespace (for `tcpdump -i br0` while debugging, say).
    pub fn netns(&self) -> &NetNamespace {
        &self.netns
    }

    /// The segment's subnet.
    pub fn cidr(&self) -> String {
        format!("{SUBNET_PREFIX}.0/24")
    }

    /// Reserves the next address and bridge port for a chassis.
    pub(crate) fn cable(&self) -> Result<Cable> {
        let mut last = self.last_host.lock().unwrap_or_else(|p| p.into_inner());
        let host = last.checked_add(1).filter(|h| *h < 255).ok_or_else(|| {
            crate::Error::UnexpectedOutput {
                what: "an underlay address".to_owned(),
                output: format!("all of {} are taken", self.cidr()),
            }
        })?;
        *last = host;
        Ok(Cable {
            underlay: self.netns.name().to_owned(),
            port: format!("ul{host}"),
            ip: format!("{SUBNET_PREFIX}.{host}"),
            prefix_len: 24,
        })
    }
}

impl Cable {
    /// Lays the cable: a veth pair from the underlay's bridge to `chassis_end` in the namespace
    /// `chassis`, both ends up. The chassis end gets no address (see the module docs).
    pub(crate) fn lay(&self, chassis: &str, chassis_end: &str) -> Result<()> {
        let underlay = self.underlay.as_str();
        crate::chassis::ip([
            "-n",
            underlay,
            "link",
            "add",
            &self.port,
            "type",
            "veth",
            "peer",
            "name",
            chassis_end,
            "netns",
            chassis,
        ])?;
        crate::chassis::ip(["-n", underlay, "link", "set", &self.port, "master", BRIDGE])?;
        crate::chassis::ip(["-n", underlay, "link", "set", &self.port, "up"])?;
        crate::chassis::ip(["-n", chassis, "link", "set", chassis_end, "up"])?;
        Ok(())
    }
}
