//! The crate's one error type.

use std::fmt;
use std::net::IpAddr;

use crate::types::{Family, MacAddr};

/// Result alias for this crate.
pub type Result<T, E = IpamError> = std::result::Result<T, E>;

/// Everything that can go wrong in the allocator. Every failing call leaves no partial state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpamError {
    /// A CIDR string did not parse.
    #[error("invalid CIDR {input:?}: expected a prefix such as 10.0.0.0/16 or fd00::/64")]
    InvalidCidr {
        /// The text that was given.
        input: String,
    },
    /// An IP address string did not parse.
    #[error("invalid IP address {input:?}")]
    InvalidAddress {
        /// The text that was given.
        input: String,
    },
    /// An address range did not parse or is malformed.
    #[error("invalid address range {input:?}: {reason}")]
    InvalidRange {
        /// The text (or range) that was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A MAC address string did not parse or is not a unicast address.
    #[error("invalid MAC address {input:?}: expected a unicast address like 0a:00:00:00:00:01")]
    InvalidMac {
        /// The text that was given.
        input: String,
    },
    /// A subnet specification is inconsistent in a way no more specific variant covers.
    #[error("invalid subnet {subnet:?}: {reason}")]
    InvalidSpec {
        /// The subnet name.
        subnet: String,
        /// What is wrong.
        reason: String,
    },
    /// An owner key was empty.
    #[error("owner key must not be empty")]
    EmptyOwner,
    /// An owner key was longer than the allocator stores.
    #[error("owner key is {len} bytes long; at most {max} are allowed")]
    OwnerTooLong {
        /// Length of the key given, in bytes.
        len: usize,
        /// The longest key accepted.
        max: usize,
    },
    /// An address of one family was used where the subnet (or range) has another.
    #[error("subnet {subnet:?} has no {family} CIDR for address {address}")]
    FamilyMismatch {
        /// The subnet name.
        subnet: String,
        /// The family the address belongs to.
        family: Family,
        /// The offending address.
        address: IpAddr,
    },
    /// The gateway lies outside the subnet's CIDR.
    #[error("subnet {subnet:?}: gateway {gateway} is outside {cidr}")]
    GatewayOutsideCidr {
        /// The subnet name.
        subnet: String,
        /// The gateway that was given.
        gateway: IpAddr,
        /// The CIDR of that family.
        cidr: String,
    },
    /// The gateway is the IPv4 network or broadcast address.
    #[error("subnet {subnet:?}: gateway {gateway} is the network or broadcast address of {cidr}")]
    GatewayNotUsable {
        /// The subnet name.
        subnet: String,
        /// The gateway that was given.
        gateway: IpAddr,
        /// The CIDR of that family.
        cidr: String,
    },
    /// An exclude range is not inside the subnet's CIDR.
    #[error("subnet {subnet:?}: exclude range {range} is outside {cidr}")]
    ExcludeOutsideCidr {
        /// The subnet name.
        subnet: String,
        /// The exclude range.
        range: String,
        /// The CIDR of that family.
        cidr: String,
    },
    /// A pool range is not inside the subnet's CIDR.
    #[error("subnet {subnet:?}: pool {pool:?} range {range} is outside {cidr}")]
    PoolOutsideCidr {
        /// The subnet name.
        subnet: String,
        /// The pool name.
        pool: String,
        /// The pool range.
        range: String,
        /// The CIDR of that family.
        cidr: String,
    },
    /// Two named pools share addresses.
    #[error("subnet {subnet:?}: pools {first:?} and {second:?} overlap")]
    PoolsOverlap {
        /// The subnet name.
        subnet: String,
        /// One pool.
        first: String,
        /// The other pool.
        second: String,
    },
    /// `add_subnet` was given a name that already exists.
    #[error("subnet {subnet:?} already exists")]
    SubnetExists {
        /// The subnet name.
        subnet: String,
    },
    /// No subnet has this name.
    #[error("subnet {subnet:?} not found")]
    SubnetNotFound {
        /// The subnet name.
        subnet: String,
    },
    /// The subnet has no pool of this name.
    #[error("subnet {subnet:?} has no pool {pool:?}")]
    PoolNotFound {
        /// The subnet name.
        subnet: String,
        /// The pool name.
        pool: String,
    },
    /// A subnet still holding allocations cannot be removed.
    #[error("subnet {subnet:?} still holds {allocations} allocation(s); release them first")]
    SubnetInUse {
        /// The subnet name.
        subnet: String,
        /// How many owners hold addresses in it.
        allocations: usize,
    },
    /// An update would leave an existing allocation outside the subnet or on its gateway.
    #[error("updating subnet {subnet:?} would strand {address} held by {owner:?}")]
    UpdateStrandsAllocation {
        /// The subnet name.
        subnet: String,
        /// The owner of the stranded address.
        owner: String,
        /// The address that would no longer be valid.
        address: IpAddr,
    },
    /// No free address is left.
    #[error("subnet {subnet:?} has no free {family} address in pool {}", pool.as_deref().unwrap_or("(default)"))]
    Exhausted {
        /// The subnet name.
        subnet: String,
        /// The exhausted family.
        family: Family,
        /// The pool searched (`None` for the subnet's default pool).
        pool: Option<String>,
    },
    /// A requested static address is not in the subnet's CIDR.
    #[error("static address {address} is outside subnet {subnet:?}")]
    StaticOutsideSubnet {
        /// The subnet name.
        subnet: String,
        /// The requested address.
        address: IpAddr,
    },
    /// A requested static address is the gateway, network, broadcast, or excluded.
    #[error(
        "static address {address} is reserved in subnet {subnet:?} (gateway, network, broadcast or excluded)"
    )]
    StaticReserved {
        /// The subnet name.
        subnet: String,
        /// The requested address.
        address: IpAddr,
    },
    /// A requested static address is outside the requested pool.
    #[error("static address {address} is outside pool {pool:?} of subnet {subnet:?}")]
    StaticOutsidePool {
        /// The subnet name.
        subnet: String,
        /// The pool name.
        pool: String,
        /// The requested address.
        address: IpAddr,
    },
    /// A request named more than one address of the same family.
    #[error("request names two {family} addresses; give at most one per family")]
    DuplicateFamily {
        /// The repeated family.
        family: Family,
    },
    /// The address is already held by another owner.
    #[error(
        "address {address} in subnet {subnet:?} is held by {}",
        OwnerName(owner)
    )]
    AddressInUse {
        /// The subnet name.
        subnet: String,
        /// The address asked for.
        address: IpAddr,
        /// The current holder (`None` if it was released while we looked it up).
        owner: Option<String>,
    },
    /// The MAC address is already held by another owner.
    #[error("MAC {mac} is held by {}", OwnerName(owner))]
    MacInUse {
        /// The MAC asked for.
        mac: MacAddr,
        /// The current holder (`None` if it was released while we looked it up).
        owner: Option<String>,
    },
    /// The owner already holds addresses (or a MAC) other than the ones requested.
    #[error(
        "owner {owner:?} already holds {held}; release it before asking for different addresses"
    )]
    OwnerHoldsOther {
        /// The owner key.
        owner: String,
        /// What it holds, as `ips mac`.
        held: String,
    },
}

struct OwnerName<'a>(&'a Option<String>);

impl fmt::Display for OwnerName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(o) => write!(f, "{o:?}"),
            None => f.write_str("another owner (released concurrently)"),
        }
    }
}
