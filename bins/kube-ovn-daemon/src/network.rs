//! A logical port's network as the controller publishes it, under Kube-OVN's annotation names
//! (`ip_address`, `mac_address`, `cidr`, `gateway`, `logical_switch`, `ingress_rate`,
//! `egress_rate`): on a pod's or node's annotations in a cluster, on the NB port's
//! `external_ids` in manifest mode. Both sources parse with [`parse_network`].

use std::net::IpAddr;

use ipnet::IpNet;

/// One logical port's network, as the pod (or the node's ovn0) gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct PortNetwork {
    /// The logical switch port's name (`<pod>.<ns>` or `node-<node>`).
    pub port: String,
    /// Addresses with their subnet's prefix length, v4 first as the controller orders them.
    pub addresses: Vec<IpNet>,
    /// The subnet gateways, one per family.
    pub gateways: Vec<IpAddr>,
    /// The MAC address.
    pub mac: String,
    /// The subnet (logical switch).
    pub subnet: String,
    /// `ingress_rate` in Mbit/s, when the port carries it.
    pub ingress_rate: Option<u64>,
    /// `egress_rate` in Mbit/s, when the port carries it.
    pub egress_rate: Option<u64>,
}

impl PortNetwork {
    /// The gateway for `address`'s family.
    pub fn gateway_for(&self, address: &IpNet) -> Option<IpAddr> {
        self.gateway_of_family(address.addr().is_ipv4())
    }

    /// The gateway of the v4 (`true`) or v6 family.
    pub fn gateway_of_family(&self, v4: bool) -> Option<IpAddr> {
        self.gateways.iter().copied().find(|g| g.is_ipv4() == v4)
    }
}

/// One malformed field: its name (without prefix) and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, e.g. `ip_address`.
    pub field: &'static str,
    /// What was wrong.
    pub reason: String,
}

/// Parses a port's network from `get(field)`, which answers for the bare field names.
/// `Ok(None)` while `ip_address` or `mac_address` is missing or empty (not allocated yet).
pub fn parse_network<'a>(
    port: &str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<PortNetwork>, FieldError> {
    let present = |field: &str| get(field).map(str::trim).filter(|v| !v.is_empty());
    let (Some(ips), Some(mac)) = (present("ip_address"), present("mac_address")) else {
        return Ok(None);
    };
    let bad = |field: &'static str, reason: String| FieldError { field, reason };
    let list = |field: &str| -> Vec<&str> {
        get(field)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    let cidrs = list("cidr")
        .into_iter()
        .map(|c| {
            c.parse::<IpNet>()
                .map_err(|e| bad("cidr", format!("{c:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut addresses = Vec::new();
    for ip in ips.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ip: IpAddr = ip
            .parse()
            .map_err(|e| bad("ip_address", format!("{ip:?}: {e}")))?;
        let cidr = cidrs.iter().find(|c| c.contains(&ip)).ok_or_else(|| {
            bad(
                "ip_address",
                format!("{ip} is in none of the cidrs {cidrs:?}"),
            )
        })?;
        addresses.push(IpNet::new(ip, cidr.prefix_len()).map_err(|e| bad("cidr", e.to_string()))?);
    }
    let gateways = list("gateway")
        .into_iter()
        .map(|g| {
            g.parse::<IpAddr>()
                .map_err(|e| bad("gateway", format!("{g:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if crate::netlink::parse_mac(mac).is_none() {
        return Err(bad(
            "mac_address",
            format!("{mac:?} is not aa:bb:cc:dd:ee:ff"),
        ));
    }
    let rate = |field: &'static str| -> Result<Option<u64>, FieldError> {
        present(field)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|e| bad(field, format!("{v:?} (Mbit/s): {e}")))
            })
            .transpose()
    };
    Ok(Some(PortNetwork {
        port: port.to_owned(),
        addresses,
        gateways,
        mac: mac.to_owned(),
        subnet: present("logical_switch").unwrap_or_default().to_owned(),
        ingress_rate: rate("ingress_rate")?,
        egress_rate: rate("egress_rate")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<PortNetwork>, FieldError> {
        let map: BTreeMap<&str, &str> = pairs.iter().copied().collect();
        parse_network("p.ns", |k| map.get(k).copied())
    }

    #[test]
    fn dual_stack_port_data_parses_with_prefixes() {
        let net = parse(&[
            ("ip_address", "10.0.0.5,fd00::5"),
            ("mac_address", "0a:00:00:00:00:05"),
            ("cidr", "10.0.0.0/24,fd00::/64"),
            ("gateway", "10.0.0.1,fd00::1"),
            ("logical_switch", "sn"),
            ("egress_rate", "10"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            net.addresses,
            vec![
                "10.0.0.5/24".parse::<IpNet>().unwrap(),
                "fd00::5/64".parse().unwrap()
            ]
        );
        assert_eq!(
            net.gateway_for(&net.addresses[1]),
            Some("fd00::1".parse().unwrap())
        );
        assert_eq!(net.egress_rate, Some(10));
        assert_eq!(net.ingress_rate, None);
        assert_eq!(net.subnet, "sn");
    }

    #[test]
    fn missing_address_or_mac_is_not_allocated_yet() {
        assert_eq!(parse(&[("mac_address", "0a:00:00:00:00:05")]), Ok(None));
        assert_eq!(
            parse(&[("ip_address", " "), ("mac_address", "0a:00:00:00:00:05")]),
            Ok(None)
        );
    }

    #[test]
    fn bad_port_data_names_the_field() {
        for (ips, mac, rate, field) in [
            ("10.0.1.5", "0a:00:00:00:00:05", "1", "ip_address"),
            ("10.0.0.x", "0a:00:00:00:00:05", "1", "ip_address"),
            ("10.0.0.5", "zz", "1", "mac_address"),
            ("10.0.0.5", "0a:00:00:00:00:05", "fast", "ingress_rate"),
        ] {
            let err = parse(&[
                ("ip_address", ips),
                ("mac_address", mac),
                ("cidr", "10.0.0.0/24"),
                ("gateway", "10.0.0.1"),
                ("ingress_rate", rate),
            ])
            .unwrap_err();
            assert_eq!(err.field, field, "{err:?}");
        }
        let err = parse(&[
            ("ip_address", "10.0.0.5"),
            ("mac_address", "0a:00:00:00:00:05"),
            ("cidr", "10.0.0.0/33"),
        ])
        .unwrap_err();
        assert_eq!(err.field, "cidr");
    }
}
