//! The iteration order of OVS's string hash maps (`struct shash` over `struct hmap`).
//!
//! `ovsdb-client list-tables` prints a schema's tables in this order: the C tool parses the
//! server's JSON object into one shash (in the order the names arrive), then walks it to fill
//! the schema's shash, and prints that. The order depends on OVS's string hash, on the bucket
//! count at each insertion, and on insertion order, so this module replays all three.

/// The names in the order OVS iterates them after the C tools parse a JSON object whose
/// members arrive in `wire_order` and copy it into a second shash (what `ovsdb_schema_from_json`
/// does with `"tables"`). A repeated name keeps its first position, as `json_object_put`
/// replaces in place.
pub fn shash_order<'a>(wire_order: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut parsed = HashMapReplay::default();
    for name in wire_order {
        if !parsed.contains(name) {
            parsed.insert(name);
        }
    }
    let mut schema = HashMapReplay::default();
    for name in parsed.iter() {
        schema.insert(name);
    }
    schema.iter().collect()
}

/// An `hmap` holding names: buckets of chains, new nodes at the head of their chain, and
/// OVS's growth rule.
struct HashMapReplay<'a> {
    mask: usize,
    buckets: Vec<Vec<(&'a str, u32)>>,
    n: usize,
}

impl Default for HashMapReplay<'_> {
    fn default() -> Self {
        HashMapReplay {
            mask: 0,
            buckets: vec![Vec::new()],
            n: 0,
        }
    }
}

impl<'a> HashMapReplay<'a> {
    fn contains(&self, name: &str) -> bool {
        let hash = hash_string(name);
        self.buckets[hash as usize & self.mask]
            .iter()
            .any(|(n, _)| *n == name)
    }

    fn insert(&mut self, name: &'a str) {
        let hash = hash_string(name);
        // A chain is kept head-last here so that pushing is cheap; iteration reverses it.
        self.buckets[hash as usize & self.mask].push((name, hash));
        self.n += 1;
        if self.n / 2 > self.mask {
            let new_mask = calc_mask(self.n);
            if new_mask > self.mask {
                self.resize(new_mask);
            }
        }
    }

    /// `resize()`: walks the old buckets in order, each chain from its head, inserting every
    /// node at the head of its new chain.
    fn resize(&mut self, new_mask: usize) {
        let mut buckets = vec![Vec::new(); new_mask + 1];
        for chain in &self.buckets {
            for &(name, hash) in chain.iter().rev() {
                buckets[hash as usize & new_mask].push((name, hash));
            }
        }
        self.buckets = buckets;
        self.mask = new_mask;
    }

    /// `HMAP_FOR_EACH`: buckets in order, each chain from its head.
    fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.buckets
            .iter()
            .flat_map(|chain| chain.iter().rev().map(|(name, _)| *name))
    }
}

/// `calc_mask()`: one less than a power of two, at least 3 once buckets are allocated.
fn calc_mask(capacity: usize) -> usize {
    let mut mask = capacity / 2;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask |= (mask & 1) << 1;
    mask
}

/// `hash_string(s, 0)`: OVS's `hash_bytes`, Murmur3-style 32-bit words in little-endian
/// order (the byte order of the x86-64 and arm64 builds this mirrors).
pub(crate) fn hash_string(s: &str) -> u32 {
    let bytes = s.as_bytes();
    let mut hash: u32 = 0;
    let mut chunks = bytes.chunks_exact(4);
    for c in &mut chunks {
        hash = hash_add(hash, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 4];
        word[..rest.len()].copy_from_slice(rest);
        hash = hash_add(hash, u32::from_le_bytes(word));
    }
    hash_finish(hash ^ bytes.len() as u32)
}

fn hash_add(hash: u32, data: u32) -> u32 {
    let mut hash = hash;
    if data != 0 {
        let d = data
            .wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593);
        hash ^= d;
    }
    hash.rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

fn hash_finish(hash: u32) -> u32 {
    let mut h = hash;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}
