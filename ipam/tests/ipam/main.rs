//! Integration tests of the `ipam` crate, one binary to keep link time low.

mod behaviour;
mod errors;
mod model;
mod stress;

use ipam::{Ipam, SubnetSpec};

/// An allocator with one subnet.
pub fn with_subnet(name: &str, cidr: &str) -> Ipam {
    let ipam = Ipam::new();
    ipam.add_subnet(SubnetSpec::new(name, cidr).unwrap())
        .unwrap();
    ipam
}

/// Parses an address.
pub fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}
