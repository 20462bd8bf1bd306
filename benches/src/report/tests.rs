use super::*;

#[test]
fn lsp_add_line_has_the_contract_fields() {
    let line = lsp_add_line(Mode::Pipelined, 1000, Duration::from_millis(250));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["workload"], "lsp-add");
    assert_eq!(v["mode"], "pipelined");
    assert_eq!(v["count"], 1000);
    assert_eq!(v["seconds"], 0.25);
    assert_eq!(v["per_second"], 4000.0);
    assert!(!line.contains('\n'));
    assert!(line.starts_with(r#"{"workload":"lsp-add","mode":"pipelined","count":1000,"#));
}

#[test]
fn sync_line_has_the_contract_fields() {
    let line = sync_line(100_011, Duration::from_millis(2500), Some(123_456));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["workload"], "sync");
    assert_eq!(v["rows"], 100_011);
    assert_eq!(v["seconds"], 2.5);
    assert_eq!(v["max_rss_kib"], 123_456);
}

#[test]
fn vm_hwm_is_read_from_proc_status_text() {
    let status = "Name:\tx\nVmPeak:\t  9999 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 1000 kB\n";
    assert_eq!(parse_vm_hwm(status), Some(20480));
    assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
    // On Linux this process has a peak RSS.
    assert!(max_rss_kib().is_some_and(|k| k > 0));
}
