//! Links, addresses and routes through rtnetlink, in the daemon's namespace or a pod's.
//!
//! A netlink socket acts in the network namespace it was created in. To act inside a pod, a
//! short-lived thread enters the pod's namespace, opens the socket and exits; the socket (and
//! the connection driving it on the runtime) stays bound to the pod's namespace. A dedicated
//! thread, never a pooled one, enters the namespace, so no other task ever runs in it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::Path;

use futures::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol};
use rtnetlink::{Handle, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::error::{Error, Result};

const ENODEV: i32 = 19;
const EEXIST: i32 = 17;
const ESRCH: i32 = 3;
const ENOENT: i32 = 2;
/// The main routing table.
const RT_TABLE_MAIN: u8 = 254;

/// The route protocol number marking the routes the daemon creates (ovn0's routes to pod
/// subnets), so that reconciling them never touches a route someone else added. Not assigned in
/// iproute2's `rt_protos`; `ip route` shows it as `proto 111`.
pub const OWNED_ROUTE_PROTOCOL: u8 = 111;

/// A netlink connection bound to one network namespace.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// A connection in the calling thread's namespace (the daemon's). Needs a tokio runtime.
    pub fn current() -> Result<Self> {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(Error::io(
            "open a netlink socket in the daemon's network namespace",
        ))?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    /// A connection inside the namespace at `path` (such as `/var/run/netns/NAME`). The
    /// thread that enters the namespace is awaited, not joined, so no runtime worker blocks.
    pub async fn in_netns(path: &Path) -> Result<Self> {
        let netns_error = |reason: String| Error::Netns {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| netns_error(e.to_string()))?;
        let runtime = tokio::runtime::Handle::current();
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("enter-netns".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                let opened = nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("cannot enter it: {e}"))
                    .and_then(|()| {
                        rtnetlink::new_connection()
                            .map(|(connection, handle, _)| (connection, handle))
                            .map_err(|e| format!("cannot open a netlink socket in it: {e}"))
                    });
                let _ = tx.send(opened);
            })
            .map_err(|e| netns_error(format!("cannot start a thread to enter it: {e}")))?;
        let opened = rx
            .await
            .map_err(|_| netns_error("the thread entering it ended without an answer".into()))?;
        let (connection, handle) = opened.map_err(netns_error)?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    /// The link named `name`, if it exists.
    pub async fn link(&self, name: &str) -> Result<Option<LinkMessage>> {
        let mut links = self.handle.link().get().match_name(name).execute();
        match links.try_next().await {
            Ok(link) => Ok(link),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -ENODEV => Ok(None),
            Err(source) => Err(Error::Netlink {
                what: format!("look up link {name}"),
                source,
            }),
        }
    }

    /// The index of the link named `name`, if it exists.
    pub async fn index(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.link(name).await?.map(|l| l.header.index))
    }

    /// Creates a veth pair `host`/`peer` with `mtu` on both ends; returns their indexes.
    pub async fn create_veth(&self, host: &str, peer: &str, mtu: u32) -> Result<(u32, u32)> {
        self.handle
            .link()
            .add(LinkVeth::new(host, peer).mtu(mtu).build())
            .execute()
            .await
            .map_err(Error::netlink(format!("create veth pair {host}/{peer}")))?;
        let host_index = self.require_index(host).await?;
        let peer_index = self.require_index(peer).await?;
        self.set(
            LinkUnspec::new_with_index(peer_index).mtu(mtu).build(),
            peer,
        )
        .await?;
        Ok((host_index, peer_index))
    }

    async fn require_index(&self, name: &str) -> Result<u32> {
        self.index(name)
            .await?
            .ok_or_else(|| Error::Database(format!("link {name} vanished right after creation")))
    }

    async fn set(&self, message: LinkMessage, what: &str) -> Result<()> {
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(Error::netlink(format!("configure link {what}")))
    }

    /// Sets a link's MAC address.
    pub async fn set_mac(&self, index: u32, mac: [u8; 6]) -> Result<()> {
        self.set(
            LinkUnspec::new_with_index(index)
                .address(mac.to_vec())
                .build(),
            &format!("#{index} (MAC)"),
        )
        .await
    }

    /// Renames a (down) link.
    pub async fn rename(&self, index: u32, name: &str) -> Result<()> {
        self.set(
            LinkUnspec::new_with_index(index)
                .name(name.to_owned())
                .build(),
            &format!("#{index} (rename to {name})"),
        )
        .await
    }

    /// Sets a link's MTU.
    pub async fn set_mtu(&self, index: u32, mtu: u32) -> Result<()> {
        self.set(
            LinkUnspec::new_with_index(index).mtu(mtu).build(),
            &format!("#{index} (MTU)"),
        )
        .await
    }

    /// Brings a link up.
    pub async fn set_up(&self, index: u32) -> Result<()> {
        self.set(
            LinkUnspec::new_with_index(index).up().build(),
            &format!("#{index} (up)"),
        )
        .await
    }

    /// Moves a link into the namespace at `netns` (keeping its name).
    pub async fn move_to_netns(&self, index: u32, netns: &Path) -> Result<()> {
        let file = std::fs::File::open(netns).map_err(|e| Error::Netns {
            path: netns.display().to_string(),
            reason: e.to_string(),
        })?;
        let message = LinkUnspec::new_with_index(index)
            .setns_by_fd(file.as_raw_fd())
            .build();
        let what = format!("move link #{index} into {}", netns.display());
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(Error::netlink(what))
    }

    /// Deletes the link named `name`; absent is fine. Returns whether it existed.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let Some(index) = self.index(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -ENODEV => Ok(false),
            Err(source) => Err(Error::Netlink {
                what: format!("delete link {name}"),
                source,
            }),
        }
    }

    /// Adds `address` (with its prefix length) to a link. IPv6 addresses skip duplicate
    /// address detection: the controller allocated them, and DAD would delay the pod's traffic.
    pub async fn add_address(&self, index: u32, address: IpNet) -> Result<()> {
        let mut request = self
            .handle
            .address()
            .add(index, address.addr(), address.prefix_len())
            .replace();
        if address.addr().is_ipv6() {
            request
                .message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        request.execute().await.map_err(Error::netlink(format!(
            "add address {address} to link #{index}"
        )))
    }

    /// Removes `address` (with its prefix length) from a link; absent is fine.
    pub async fn delete_address(&self, index: u32, address: IpNet) -> Result<()> {
        let found = self
            .address_messages(index)
            .await?
            .into_iter()
            .find(|message| message_addresses(message).any(|a| a == address));
        match found {
            Some(message) => {
                self.handle
                    .address()
                    .del(message)
                    .execute()
                    .await
                    .map_err(Error::netlink(format!(
                        "delete address {address} from link #{index}"
                    )))
            }
            None => Ok(()),
        }
    }

    /// The addresses on a link.
    pub async fn addresses(&self, index: u32) -> Result<Vec<IpNet>> {
        let messages = self.address_messages(index).await?;
        Ok(messages.iter().flat_map(message_addresses).collect())
    }

    /// The kernel's address messages of a link.
    async fn address_messages(&self, index: u32) -> Result<Vec<AddressMessage>> {
        self.handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(Error::netlink(format!("list addresses of link #{index}")))
    }

    /// Adds a route to `destination` via `gateway` out of link `index` (replacing one there).
    pub async fn add_route(&self, destination: IpNet, gateway: IpAddr, index: u32) -> Result<()> {
        let message = match (destination, gateway) {
            (IpNet::V4(dst), IpAddr::V4(gw)) => RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(dst.addr(), dst.prefix_len())
                .gateway(gw)
                .output_interface(index)
                .build(),
            (IpNet::V6(dst), IpAddr::V6(gw)) => RouteMessageBuilder::<Ipv6Addr>::new()
                .destination_prefix(dst.addr(), dst.prefix_len())
                .gateway(gw)
                .output_interface(index)
                .build(),
            _ => {
                return Err(Error::BadRequest(format!(
                    "route to {destination} via {gateway}: the families differ"
                )));
            }
        };
        match self.handle.route().add(message).replace().execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -EEXIST => Ok(()),
            Err(source) => Err(Error::Netlink {
                what: format!("add route {destination} via {gateway}"),
                source,
            }),
        }
    }

    /// The routes out of link `index` in the main table that carry [`OWNED_ROUTE_PROTOCOL`]:
    /// (destination, gateway), v4 and v6.
    pub async fn owned_routes(&self, index: u32) -> Result<Vec<(IpNet, IpAddr)>> {
        let mut out = Vec::new();
        for message in [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ] {
            let mut stream = self.handle.route().get(message).execute();
            while let Some(route) = stream
                .try_next()
                .await
                .map_err(Error::netlink("list routes"))?
            {
                if route.header.protocol != RouteProtocol::Other(OWNED_ROUTE_PROTOCOL)
                    || route.header.table != RT_TABLE_MAIN
                    || !route
                        .attributes
                        .iter()
                        .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == index))
                {
                    continue;
                }
                let mut destination = None;
                let mut gateway = None;
                for attribute in &route.attributes {
                    match attribute {
                        RouteAttribute::Destination(address) => destination = route_ip(address),
                        RouteAttribute::Gateway(address) => gateway = route_ip(address),
                        _ => {}
                    }
                }
                let prefix = route.header.destination_prefix_length;
                if let (Some(destination), Some(gateway)) = (destination, gateway) {
                    if let Ok(net) = IpNet::new(destination, prefix) {
                        out.push((net, gateway));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Adds a route to `destination` via `gateway` out of link `index`, marked as ours. Never
    /// replaces: returns `false` when a route to `destination` is already there (ours or not).
    pub async fn add_owned_route(
        &self,
        destination: IpNet,
        gateway: IpAddr,
        index: u32,
    ) -> Result<bool> {
        let message = owned_route(destination, gateway, index)?;
        match self.handle.route().add(message).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -EEXIST => Ok(false),
            Err(source) => Err(Error::Netlink {
                what: format!("add route {destination} via {gateway}"),
                source,
            }),
        }
    }

    /// Deletes our route to `destination` via `gateway` out of link `index`; the kernel
    /// matches the protocol too, so a route someone else added is never deleted. Absent is
    /// fine.
    pub async fn delete_owned_route(
        &self,
        destination: IpNet,
        gateway: IpAddr,
        index: u32,
    ) -> Result<()> {
        let message = owned_route(destination, gateway, index)?;
        match self.handle.route().del(message).execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(e))
                if e.raw_code() == -ESRCH || e.raw_code() == -ENOENT =>
            {
                Ok(())
            }
            Err(source) => Err(Error::Netlink {
                what: format!("delete route {destination} via {gateway}"),
                source,
            }),
        }
    }

    /// The gateways of default routes (v4 and v6) in this namespace.
    pub async fn default_gateways(&self) -> Result<Vec<IpAddr>> {
        let mut out = Vec::new();
        for message in [
            RouteMessageBuilder::<Ipv4Addr>::new().build(),
            RouteMessageBuilder::<Ipv6Addr>::new().build(),
        ] {
            let mut stream = self.handle.route().get(message).execute();
            while let Some(route) = stream
                .try_next()
                .await
                .map_err(Error::netlink("list routes"))?
            {
                if route.header.destination_prefix_length != 0 {
                    continue;
                }
                for attribute in &route.attributes {
                    match attribute {
                        RouteAttribute::Gateway(RouteAddress::Inet(ip)) => {
                            out.push(IpAddr::V4(*ip));
                        }
                        RouteAttribute::Gateway(RouteAddress::Inet6(ip)) => {
                            out.push(IpAddr::V6(*ip));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(out)
    }
}

fn route_ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(ip) => Some(IpAddr::V4(*ip)),
        RouteAddress::Inet6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

/// A route message to `destination` via `gateway` out of `index`, with our protocol mark.
fn owned_route(destination: IpNet, gateway: IpAddr, index: u32) -> Result<RouteMessage> {
    let protocol = RouteProtocol::Other(OWNED_ROUTE_PROTOCOL);
    match (destination, gateway) {
        (IpNet::V4(dst), IpAddr::V4(gw)) => Ok(RouteMessageBuilder::<Ipv4Addr>::new()
            .destination_prefix(dst.addr(), dst.prefix_len())
            .gateway(gw)
            .output_interface(index)
            .protocol(protocol)
            .build()),
        (IpNet::V6(dst), IpAddr::V6(gw)) => Ok(RouteMessageBuilder::<Ipv6Addr>::new()
            .destination_prefix(dst.addr(), dst.prefix_len())
            .gateway(gw)
            .output_interface(index)
            .protocol(protocol)
            .build()),
        _ => Err(Error::BadRequest(format!(
            "route to {destination} via {gateway}: the families differ"
        ))),
    }
}

/// The addresses (with their prefix length) an address message carries.
fn message_addresses(message: &AddressMessage) -> impl Iterator<Item = IpNet> + '_ {
    message
        .attributes
        .iter()
        .filter_map(|attribute| match attribute {
            AddressAttribute::Address(ip) => IpNet::new(*ip, message.header.prefix_len).ok(),
            _ => None,
        })
}

/// A link's MAC address as `aa:bb:cc:dd:ee:ff`, if it has one.
pub fn link_mac(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) if bytes.len() == 6 => Some(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => None,
    })
}

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut out {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}
