//! Golden cases recorded from helm 3.17.3 under several `$TZ` settings (with
//! /work/targets/tz-harness.py), and tests of the zone machinery: Go's zone search, the local
//! zone, and TZif data read as Go reads it (malformed data is an error, never a panic).

use std::path::Path;
use std::sync::Arc;

use super::tz::{self, Location, ZoneEnv, ZoneError, Zones};

/// The TZif files the golden cases need, copied from tzdata 2025b (which the cases were
/// recorded with), so the tests do not depend on the machine's tz database.
fn testdata() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/src/funcs/testdata").to_string()
}

fn env_with_tz(tz: Option<&str>) -> ZoneEnv {
    tz::test_env(tz)
}

/// Checks a golden file whose `tz` field is the `$TZ` helm ran with (`null`: unset, where
/// `/etc/localtime` was UTC; a file without the field too), with this thread's zones set up
/// alike.
pub(crate) fn check_with_tz(json: &str) {
    let golden: serde_json::Value = serde_json::from_str(json).unwrap();
    let tz = golden["tz"].as_str();
    let _zones = tz::use_zones(Zones::new(env_with_tz(tz)));
    crate::template::tests::check_golden(json);
}

#[test]
fn dates_match_helm_with_tz_unset() {
    check_with_tz(include_str!("testdata/dates-tz-unset.json"));
}

#[test]
fn dates_match_helm_in_new_york() {
    check_with_tz(include_str!("testdata/dates-new-york.json"));
}

#[test]
fn dates_match_helm_in_kolkata() {
    check_with_tz(include_str!("testdata/dates-kolkata.json"));
}

#[test]
fn dates_match_helm_in_london() {
    check_with_tz(include_str!("testdata/dates-london.json"));
}

#[test]
fn dates_match_helm_with_colon_sydney() {
    check_with_tz(include_str!("testdata/dates-colon-sydney.json"));
}

#[test]
fn dates_match_helm_with_unknown_tz() {
    check_with_tz(include_str!("testdata/dates-garbage.json"));
}

#[test]
fn dates_match_helm_with_empty_tz() {
    check_with_tz(include_str!("testdata/dates-empty.json"));
}

#[test]
fn dates_match_helm_with_double_colon_tz() {
    check_with_tz(include_str!("testdata/dates-double-colon.json"));
}

/// TOML date-times (offset, local date-time, local date, local time; `fromToml` and
/// `toToml`) and what templates do with them, recorded from helm 3.17.3 under four `$TZ`
/// settings (with /work/targets/dates-work/h.py). In New York only the forms that do not
/// depend on the season of the run.
#[test]
fn dates_and_toml_match_helm_utc() {
    check_with_tz(include_str!("../template/testdata/dates_toml-UTC.json"));
}

#[test]
fn dates_and_toml_match_helm_with_tz_unset() {
    check_with_tz(include_str!("../template/testdata/dates_toml-unset.json"));
}

#[test]
fn dates_and_toml_match_helm_in_kolkata() {
    check_with_tz(include_str!(
        "../template/testdata/dates_toml-Asia_Kolkata.json"
    ));
}

#[test]
fn dates_and_toml_match_helm_in_new_york() {
    check_with_tz(include_str!(
        "../template/testdata/dates_toml-America_New_York.json"
    ));
}

/// The methods of `time.Time` (and of the `time.Month`, `time.Weekday`, `time.Duration` and
/// `*time.Location` they return) that templates call, as helm 3.17.3 runs them.
#[test]
fn time_methods_match_helm_with_tz_unset() {
    check_with_tz(include_str!(
        "../template/testdata/dates_methods-unset.json"
    ));
}

#[test]
fn time_methods_match_helm_in_kolkata() {
    check_with_tz(include_str!(
        "../template/testdata/dates_methods-Asia_Kolkata.json"
    ));
}

/// Sprig's date functions given every kind of argument, as helm 3.17.3 answers.
#[test]
fn date_functions_match_helm_with_odd_arguments() {
    check_with_tz(include_str!("../template/testdata/dates_funcs-unset.json"));
}

/// Go's reference-time layouts (every element, words that only look like one, `_2006`,
/// fractions, numeric zones with seconds) and `dateInZone`'s zones, as helm 3.17.3 formats.
#[test]
fn layouts_match_helm_with_tz_unset() {
    check_with_tz(include_str!(
        "../template/testdata/dates_layouts-unset.json"
    ));
}

#[test]
fn layouts_match_helm_in_kolkata() {
    check_with_tz(include_str!(
        "../template/testdata/dates_layouts-Asia_Kolkata.json"
    ));
}

#[test]
fn layouts_match_helm_in_new_york() {
    check_with_tz(include_str!(
        "../template/testdata/dates_layouts-America_New_York.json"
    ));
}

/// `toToml` of every kind of value (NaN and infinities, control characters, odd keys,
/// arrays of tables, nil, semver) and `fromToml` of valid documents, as helm 3.17.3 does.
#[test]
fn toml_values_match_helm() {
    check_with_tz(include_str!("../template/testdata/toml_values-unset.json"));
}

/// Go's `time.ParseDuration` through `dateModify`, `mustDateModify` and `durationRound`
/// (overflow at the ends of int64, fractions, µs/μs, missing and unknown units), and
/// `duration`'s seconds, as helm 3.17.3 gives them.
#[test]
fn durations_match_helm() {
    check_with_tz(include_str!(
        "../template/testdata/dates_durations-unset.json"
    ));
}

/// `toDate`/`mustToDate` (Go's `time.ParseInLocation` in the local zone) on tricky layouts
/// and values: ranges, day of year, 12-hour clocks, fractions, zone names and offsets, DST
/// gaps and overlaps, extra text; with `$TZ` unset and in New York.
#[test]
fn parsing_matches_helm_with_tz_unset() {
    check_with_tz(include_str!("../template/testdata/dates_parse-unset.json"));
}

#[test]
fn parsing_matches_helm_in_new_york() {
    check_with_tz(include_str!(
        "../template/testdata/dates_parse-America_New_York.json"
    ));
}

/// Arrays of tables: `[[...]]` headers decode as `[]map[string]interface {}` (inline ones
/// as `[]interface {}`), and what templates then do with them, as in helm 3.17.3.
#[test]
fn toml_table_arrays_match_helm() {
    check_with_tz(include_str!("../template/testdata/toml_tables-unset.json"));
}

/// TOML date-times Go's `time.Parse` refuses (no seconds, a 60th second) are errors naming
/// the line, the key path and the value, as in helm 3.17.3.
#[test]
fn toml_datetime_errors_match_helm() {
    check_with_tz(include_str!(
        "../template/testdata/toml_datetime_errors-unset.json"
    ));
}

/// Go's named integer types and `uint64`: `time.Month`, `time.Weekday`, `time.Duration`
/// and a semver's `Major`/`Minor` printed (`{{ }}`, `print`, every `printf` verb and flag),
/// compared (`eq`, `lt` by kind), converted (Sprig's arithmetic and casts), typed, indexed
/// and serialised, as helm 3.17.3 does (/work/targets/gotypes-work/named.py).
#[test]
fn named_integer_types_match_helm() {
    check_with_tz(include_str!("../template/testdata/gotypes_named.json"));
}

/// `printf` verbs × flags (`+ - # space 0`, width, precision) × values (ints, floats incl.
/// infinities and NaN, strings, bools, nil, lists, maps, `time.Month`, `uint64`), as helm
/// 3.17.3 formats them (/work/targets/gotypes-work/pf.py).
#[test]
fn printf_verbs_and_flags_match_helm() {
    check_with_tz(include_str!("../template/testdata/gotypes_printf.json"));
}

/// `time.Time` and `time.Duration` methods given every kind of argument (nil, strings,
/// numbers, maps, lists, times, durations, locations; directly and piped), and the members
/// templates cannot use (`Clock`, `Date`, `ISOWeek`, `Zone`, `ZoneBounds`, unexported
/// fields), with helm 3.17.3's errors (/work/targets/gotypes-work/meth.py).
#[test]
fn time_method_arguments_match_helm() {
    check_with_tz(include_str!(
        "../template/testdata/gotypes_time_methods.json"
    ));
}

/// Sprig's date functions with every kind of argument, directly and piped: `unixEpoch`,
/// `dateModify` and `mustDateModify` take a `time.Time` and get text/template's errors
/// for anything else (/work/targets/gotypes-work/dargs.py).
#[test]
fn date_function_arguments_match_helm() {
    check_with_tz(include_str!("../template/testdata/gotypes_date_args.json"));
}

/// Named integers as `index` arguments (a map's key type is checked, naming the type),
/// compared with each other, inside `%#v` of lists and maps; `%#v` with a width of lists,
/// maps, `[]string` and `chartutil.Values` (each element padded); float and integer flag
/// corners (`%#.0f`, `%.3x`, subnormal `%x`, `%#08x`, `%#U`, `%+q`), as in helm 3.17.3
/// (/work/targets/gotypes-work/extra.py).
#[test]
fn named_integer_and_printf_corners_match_helm() {
    check_with_tz(include_str!("../template/testdata/gotypes_extra.json"));
}

/// A second `printf` campaign: typed slices, `chartutil.Values`, semvers, times, durations,
/// weekdays, nested lists and maps, extreme floats, escapes; random flag sets; `*` widths
/// and precisions; explicit argument indexes (`%[2]d`, `BADINDEX`, no `EXTRA` once
/// reordered), as helm 3.17.3 prints them (/work/targets/gotypes-work/pf2.py; the struct
/// dumps of `time.Time` for numeric verbs, which show pointers, are not recorded).
#[test]
fn printf_objects_flags_and_indexes_match_helm() {
    check_with_tz(include_str!("../template/testdata/gotypes_printf2.json"));
}

fn zone_at(loc: &Location, unix: i64) -> (String, i32) {
    let z = loc.lookup(unix);
    (z.name, z.offset)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{}/zoneinfo/{rel}", testdata())).unwrap()
}

/// Tokyo's data under another name, as the experiments with helm used it.
fn tokyo_like() -> Vec<u8> {
    tzif(&[(32400, false, "JST")], &[], "JST-9")
}

/// An uncompressed (or, with `method` 8, nominally deflated) zip of `entries`, in the layout
/// Go's zoneinfo.zip reader expects.
fn zip(entries: &[(&str, &[u8])], method: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let off = out.len() as u32;
        out.extend(0x0403_4b50u32.to_le_bytes());
        out.extend([20, 0, 0, 0]);
        out.extend(method.to_le_bytes());
        out.extend([0; 8]);
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(*data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([20, 0, 20, 0, 0, 0]);
        central.extend(method.to_le_bytes());
        central.extend([0; 8]);
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((data.len() as u32).to_le_bytes());
        central.extend((name.len() as u16).to_le_bytes());
        central.extend([0; 12]);
        central.extend(off.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let dir_off = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 6]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(dir_off.to_le_bytes());
    out.extend([0, 0]);
    out
}

/// A TZif v2 file: zones (offset, DST, abbreviation), transitions (time, zone index) and
/// footer, with an empty version 1 block.
fn tzif(zones: &[(i32, bool, &str)], tx: &[(i64, u8)], footer: &str) -> Vec<u8> {
    let mut chars = Vec::new();
    let mut zone_bytes = Vec::new();
    for (offset, dst, name) in zones {
        zone_bytes.extend(offset.to_be_bytes());
        zone_bytes.push(u8::from(*dst));
        zone_bytes.push(chars.len() as u8);
        chars.extend(name.as_bytes());
        chars.push(0);
    }
    let header = |counts: [u32; 6]| {
        let mut h = b"TZif2".to_vec();
        h.extend([0; 15]);
        for c in counts {
            h.extend(c.to_be_bytes());
        }
        h
    };
    let mut out = header([0; 6]);
    out.extend(header([
        0,
        0,
        0,
        tx.len() as u32,
        zones.len() as u32,
        chars.len() as u32,
    ]));
    for (when, _) in tx {
        out.extend(when.to_be_bytes());
    }
    out.extend(tx.iter().map(|(_, i)| *i));
    out.extend(zone_bytes);
    out.extend(chars);
    out.push(b'\n');
    out.extend(footer.as_bytes());
    out.push(b'\n');
    out
}

#[test]
fn zoneinfo_is_searched_first_then_the_sources_then_goroot() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("zi/Europe")).unwrap();
    std::fs::write(root.join("zi/Europe/Paris"), tokyo_like()).unwrap();
    std::fs::write(
        root.join("zi.zip"),
        zip(
            &[
                ("Fake/Zone", &tokyo_like()),
                ("Europe/Paris", &tokyo_like()),
            ],
            0,
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("deflated.zip"),
        zip(&[("Fake/Zone", &tokyo_like())], 8),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("goroot/lib/time")).unwrap();
    std::fs::write(
        root.join("goroot/lib/time/zoneinfo.zip"),
        zip(&[("Fake/Zone", &tokyo_like())], 0),
    )
    .unwrap();
    let path = |p: &str| root.join(p).to_string_lossy().into_owned();
    let nov_2023 = 1_700_000_000;
    let name_at = |zones: &Zones, name: &str| {
        zones
            .load(name)
            .map(|l| zone_at(&l, nov_2023).0)
            .map_err(|e| e.to_string())
    };

    // $ZONEINFO as a directory or a stored zip wins over the system sources.
    for zi in [path("zi"), path("zi.zip")] {
        let zones = Zones::new(ZoneEnv {
            zoneinfo: zi,
            ..env_with_tz(None)
        });
        assert_eq!(name_at(&zones, "Europe/Paris"), Ok("JST".into()));
        assert_eq!(name_at(&zones, "Asia/Kolkata"), Ok("IST".into()));
    }
    // A compressed entry is an error, and the search goes on (and here fails).
    let zones = Zones::new(ZoneEnv {
        zoneinfo: path("deflated.zip"),
        ..env_with_tz(None)
    });
    assert!(name_at(&zones, "Fake/Zone").is_err());
    assert_eq!(name_at(&zones, "Europe/Paris"), Ok("CET".into()));
    // $ZONEINFO is not where $TZ is looked up; $GOROOT's zip is, after the directories.
    let local = |env: ZoneEnv| zone_at(&Zones::new(env).local(), nov_2023).0;
    assert_eq!(
        local(ZoneEnv {
            zoneinfo: path("zi.zip"),
            ..env_with_tz(Some("Fake/Zone"))
        }),
        "UTC"
    );
    let mut with_goroot = env_with_tz(Some("Fake/Zone"));
    with_goroot
        .sources
        .push(path("goroot/lib/time/zoneinfo.zip"));
    assert_eq!(local(with_goroot.clone()), "JST");
    assert_eq!(
        name_at(&Zones::new(with_goroot), "Fake/Zone"),
        Ok("JST".into())
    );
}

#[test]
fn load_location_names_as_go() {
    let zones = Zones::new(env_with_tz(Some("Asia/Kolkata")));
    for bad in [
        "../Europe/Paris",
        "Europe/../Europe/Paris",
        "/etc/localtime",
        "\\x",
        "a..b",
    ] {
        assert!(
            matches!(zones.load(bad), Err(ZoneError::InvalidName)),
            "{bad}"
        );
    }
    for utc in ["", "UTC"] {
        assert_eq!(zone_at(&zones.load(utc).unwrap(), 0), ("UTC".into(), 0));
    }
    let local = zones.load("Local").unwrap();
    assert_eq!(local.name(), "Asia/Kolkata");
    assert_eq!(zone_at(&local, 0), ("IST".into(), 19800));
    // A directory and a missing file are errors; "utc" is not "UTC".
    assert!(zones.load("America").is_err());
    assert!(matches!(zones.load("utc"), Err(ZoneError::Unknown(_))));
    assert!(zones.load("Europe/Paris/").is_err());
}

#[test]
fn local_zone_from_tz_as_go() {
    let local = |tz: Option<&str>| {
        let l = Zones::new(env_with_tz(tz)).local();
        let (abbr, offset) = zone_at(&l, 1_700_000_000);
        (l.name().to_string(), abbr, offset)
    };
    let utc = ("UTC".to_string(), "UTC".to_string(), 0);
    assert_eq!(local(None), ("Local".into(), "UTC".into(), 0));
    assert_eq!(local(Some("")), utc);
    assert_eq!(local(Some("UTC")), utc);
    assert_eq!(local(Some(":")), utc);
    assert_eq!(local(Some("garbage")), utc);
    assert_eq!(local(Some("<+03>-3")), utc);
    assert_eq!(
        local(Some(":Europe/London")),
        ("Europe/London".into(), "GMT".into(), 0)
    );
    // $TZ is not checked for "..", unlike LoadLocation's names.
    assert_eq!(
        local(Some("America/../Europe/Paris")),
        ("America/../Europe/Paris".into(), "CET".into(), 3600)
    );
    let abs = format!("{}/zoneinfo/Asia/Kolkata", testdata());
    assert_eq!(local(Some(&abs)), (abs.clone(), "IST".into(), 19800));
    assert_eq!(
        local(Some(&format!(":{abs}"))),
        (abs.clone(), "IST".into(), 19800)
    );
    assert_eq!(local(Some(&format!("{abs}x"))), utc);
}

#[test]
fn zones_before_the_first_transition_and_past_the_last() {
    let ny = Location::from_tzif("America/New_York", &read("America/New_York")).unwrap();
    // Before 1883: local mean time; year 1 too.
    assert_eq!(zone_at(&ny, -5_000_000_000), ("LMT".into(), -17762));
    assert_eq!(zone_at(&ny, -62_135_596_800), ("LMT".into(), -17762));
    // Past the table (2037), the footer's rule: DST from the second Sunday in March.
    let dst_2100 = 4_108_690_800; // 2100-03-14 07:00 UTC, 02:00 on the second Sunday
    assert_eq!(zone_at(&ny, dst_2100 - 86400), ("EST".into(), -18000));
    assert_eq!(zone_at(&ny, dst_2100 - 1), ("EST".into(), -18000));
    assert_eq!(zone_at(&ny, dst_2100), ("EDT".into(), -14400));
    // Southern hemisphere: the rule's end comes before its start in the year.
    let syd = Location::from_tzif("Australia/Sydney", &read("Australia/Sydney")).unwrap();
    assert_eq!(zone_at(&syd, 4_102_444_800), ("AEDT".into(), 39600));
    assert_eq!(zone_at(&syd, 4_118_083_200), ("AEST".into(), 36000));
    // A fixed zone has no transitions: its one zone at all times.
    let gmt3 = Location::from_tzif("Etc/GMT-3", &read("Etc/GMT-3")).unwrap();
    assert_eq!(zone_at(&gmt3, i64::MIN / 2), ("+03".into(), 10800));
    assert_eq!(zone_at(&gmt3, 0), ("+03".into(), 10800));
}

#[test]
fn first_zone_and_footer_rules_as_go() {
    // The first transition goes to DST: the zone before it is the closest non-DST one.
    let data = tzif(
        &[(100, false, "AAA"), (200, false, "BBB"), (300, true, "CCC")],
        &[(1000, 2), (2000, 1), (3000, 0)],
        "",
    );
    let l = Location::from_tzif("x", &data).unwrap();
    assert_eq!(zone_at(&l, 0), ("BBB".into(), 200));
    assert_eq!(zone_at(&l, 5000), ("AAA".into(), 100));
    // An unused first zone is the one before the transitions.
    let data = tzif(&[(100, true, "AAA"), (200, false, "BBB")], &[(1000, 1)], "");
    assert_eq!(
        zone_at(&Location::from_tzif("x", &data).unwrap(), 0),
        ("AAA".into(), 100)
    );
    // A footer Go cannot parse leaves the last transition's zone in force.
    for footer in ["XY5", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "<EST5"] {
        let data = tzif(&[(-18000, false, "EST")], &[(0, 0)], footer);
        let l = Location::from_tzif("x", &data).unwrap();
        assert_eq!(
            zone_at(&l, 4_118_083_200),
            ("EST".into(), -18000),
            "{footer}"
        );
    }
    // Footers with default rules, Julian days, explicit times and <quoted> names.
    let cases: [(&str, i64, (&str, i32)); 5] = [
        ("EST5EDT", 4_118_083_200, ("EDT", -14400)),
        ("<-03>3<-02>,J60/0,J300/-1", 4_118_083_200, ("-02", -7200)),
        ("<-03>3<-02>,J60/0,J300/-1", 4_102_444_800, ("-03", -10800)),
        (
            "AAA-1BBB-2:30,100/1:02:03,200",
            4_118_083_200,
            ("BBB", 9000),
        ),
        ("XXX0", 4_118_083_200, ("XXX", 0)),
    ];
    for (footer, at, (abbr, off)) in cases {
        let data = tzif(&[(-18000, false, "EST")], &[(0, 0)], footer);
        let l = Location::from_tzif("x", &data).unwrap();
        assert_eq!(zone_at(&l, at), (abbr.into(), off), "{footer}");
    }
}

#[test]
fn abbreviations_resolve_as_go() {
    let syd = Location::from_tzif("Australia/Sydney", &read("Australia/Sydney")).unwrap();
    assert_eq!(syd.lookup_name("AEDT", 1_704_067_200), Some(39600));
    assert_eq!(syd.lookup_name("AEST", 1_719_792_000), Some(36000));
    assert_eq!(syd.lookup_name("CET", 1_719_792_000), None);
    let utc = Location::utc();
    assert_eq!(utc.lookup_name("UTC", 0), None);
}

#[test]
fn malformed_tzif_is_an_error() {
    let good = read("Europe/London");
    assert!(Location::from_tzif("x", &good).is_ok());
    // Every truncation inside the data is an error (the footer is optional).
    let data_end = good.iter().rposition(|&c| c == b'\n').unwrap();
    let footer_start = good[..data_end].iter().rposition(|&c| c == b'\n').unwrap();
    for n in 0..footer_start {
        assert!(
            matches!(
                Location::from_tzif("x", &good[..n]),
                Err(ZoneError::BadData)
            ),
            "{n}"
        );
    }
    let mut bad_version = good.clone();
    bad_version[4] = b'9';
    assert!(Location::from_tzif("x", &bad_version).is_err());
    assert!(Location::from_tzif("x", &tzif(&[], &[], "")).is_err());
    // A transition to a zone that does not exist, and an abbreviation past the table.
    assert!(Location::from_tzif("x", &tzif(&[(0, false, "A")], &[(0, 1)], "")).is_err());
    let mut bad_abbrev = tzif(&[(0, false, "AAA")], &[], "");
    let at = bad_abbrev.len() - "\n\n".len() - "AAA\0".len() - 1;
    bad_abbrev[at] = 200;
    assert!(Location::from_tzif("x", &bad_abbrev).is_err());
    // Counts far beyond the data.
    let mut huge = good.clone();
    huge[20..24].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(Location::from_tzif("x", &huge).is_err());
}

#[test]
fn malformed_zip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = zip(&[("Fake/Zone", &tokyo_like())], 0);
    let zones_for = |bytes: &[u8], name: &str| {
        let p = dir.path().join(format!("{name}.zip"));
        std::fs::write(&p, bytes).unwrap();
        Zones::new(ZoneEnv {
            zoneinfo: p.to_string_lossy().into_owned(),
            ..env_with_tz(None)
        })
    };
    assert!(zones_for(&good, "good").load("Fake/Zone").is_ok());
    for n in 0..good.len() {
        let _ = zones_for(&good[..n], &format!("cut{n}")).load("Fake/Zone");
    }
    for i in 0..good.len() {
        let mut b = good.clone();
        b[i] ^= 0xff;
        let _ = zones_for(&b, &format!("flip{i}")).load("Fake/Zone");
    }
}

proptest::proptest! {
    #[test]
    fn tzif_never_panics(
        edits in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..8),
        cut in 0usize..4000,
    ) {
        let mut data = read("America/New_York");
        for (at, byte) in edits {
            if let Some(b) = data.get_mut(at) {
                *b = byte;
            }
        }
        data.truncate(cut.max(44));
        if let Ok(l) = Location::from_tzif("x", &data) {
            for sec in [i64::MIN, -5_000_000_000, 0, 1_700_000_000, 4_118_083_200, i64::MAX] {
                let _ = l.lookup(sec);
                let _ = l.wall_to_unix(sec / 2);
                let _ = l.lookup_name("EST", sec / 2);
            }
        }
    }
}

/// BurntSushi/toml's times (as helm 3.17.3 prints them under `TZ=Europe/London` and
/// `TZ=Asia/Kolkata`): an explicit offset is the local zone when it has that offset then;
/// local date-times keep their wall clock at the local zone's offset.
#[test]
fn toml_times_take_the_local_zone_as_burntsushi() {
    use super::TomlZone;
    use crate::value::Value;
    let may_1979 = 296_638_320i128 * 1_000_000_000; // 1979-05-27 07:32:00 as a wall clock
    let at = |zone: TomlZone| match super::toml_time(may_1979, zone) {
        Value::Object(o) => (o.format(), o.field("Unix")),
        other => panic!("{other:?}"),
    };
    {
        let _z = tz::use_zones(Zones::new(env_with_tz(Some("Europe/London"))));
        assert_eq!(
            at(TomlZone::Offset(3600)).0,
            "1979-05-27 07:32:00 +0100 BST"
        );
        assert_eq!(at(TomlZone::Offset(0)).0, "1979-05-27 07:32:00 +0000 +0000");
        assert_eq!(at(TomlZone::Utc).0, "1979-05-27 07:32:00 +0000 UTC");
        assert_eq!(
            at(TomlZone::Offset(-25200)).0,
            "1979-05-27 07:32:00 -0700 -0700"
        );
    }
    {
        // With the local zone UTC, +00:00 is the local zone (named UTC, located Local).
        let _z = tz::use_zones(Zones::new(env_with_tz(None)));
        assert_eq!(at(TomlZone::Offset(0)).0, "1979-05-27 07:32:00 +0000 UTC");
    }
    let _z = tz::use_zones(Zones::new(env_with_tz(Some("Asia/Kolkata"))));
    assert_eq!(
        at(TomlZone::LocalDatetime).0,
        "1979-05-27 07:32:00 +0530 datetime-local"
    );
    assert_eq!(
        at(TomlZone::LocalDate).1,
        Some(Value::Int64(296_638_320 - 19_800))
    );
}

#[test]
fn the_override_is_per_thread_and_restored() {
    let outside = tz::zones();
    {
        let _g = tz::use_zones(Zones::new(env_with_tz(Some("Asia/Kolkata"))));
        assert_eq!(tz::zones().local().name(), "Asia/Kolkata");
        let other = std::thread::spawn(|| tz::zones().local().name().to_string())
            .join()
            .unwrap();
        assert_eq!(other, outside.local().name());
    }
    assert!(Arc::ptr_eq(&tz::zones(), &outside));
    assert!(Path::new(&testdata()).join("etc/localtime").exists());
}

/// Renders `src` with the zones of this thread.
fn render(src: &str) -> String {
    let data = crate::template::tests::root("a: 1");
    let mut set = crate::template::TemplateSet::new();
    set.parse("t", src).unwrap();
    set.render("t", &data).unwrap()
}

/// Golden cases hold what helm printed with `$TZ` unset and an `/etc/localtime` of UTC; unit
/// tests must give the same wherever they run. The date-dependent golden tests are run again
/// in a child process whose `$TZ` is New York (as on a machine set to a zone other than UTC),
/// and must still pass.
#[test]
fn golden_tests_do_not_depend_on_the_machines_zone() {
    let new_york = format!(":{}/zoneinfo/America/New_York", testdata());
    // The setting matters: in that zone, the epoch falls in 1969.
    {
        let mut env = env_with_tz(None);
        env.tz = Some(new_york.clone());
        let _z = tz::use_zones(Zones::new(env));
        assert_eq!(render(r#"{{ date "2006" 0 }}"#), "1969");
    }
    assert_eq!(render(r#"{{ date "2006" 0 }}"#), "1970");
    let tests = [
        "template::tests::functions_match_helm",
        "funcs::dates::dates_tests::dates_match_helm_with_tz_unset",
        "funcs::dates::dates_tests::dates_and_toml_match_helm_utc",
        "render::tests::toml_dates_are_go_times_in_burntsushis_zones",
    ];
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(tests)
        .args(["--exact", "--test-threads", "1"])
        .env("TZ", &new_york)
        .env_remove(tz::PROCESS_ZONES_VAR)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} passed; 0 failed", tests.len())),
        "not every test ran: {stdout}"
    );
}
