//! Parses arbitrary JSON as a datum. Nothing may panic, and whatever parses must serialize to
//! JSON that parses back to the same datum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ovsdb_client::{Atom, Datum};

fuzz_target!(|input: &[u8]| {
    if let Ok(d) = serde_json::from_slice::<Datum>(input) {
        let text = serde_json::to_string(&d).expect("a datum serializes");
        let back: Datum = serde_json::from_str(&text).expect("a serialized datum parses");
        assert_eq!(back, d, "round trip changed {text}");
    }
    if let Ok(a) = serde_json::from_slice::<Atom>(input) {
        let text = serde_json::to_string(&a).expect("an atom serializes");
        let back: Atom = serde_json::from_str(&text).expect("a serialized atom parses");
        // NaN never equals itself; every other atom must round-trip.
        if a.as_real().is_none_or(|r| !r.is_nan()) {
            assert_eq!(back, a, "round trip changed {text}");
        }
    }
});
