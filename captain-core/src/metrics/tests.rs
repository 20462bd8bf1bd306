use super::*;

#[tokio::test]
async fn scrape_shows_captain_names_per_kind_and_phase() {
    let metrics = Arc::new(Metrics::new());
    metrics.observe_reconcile("HelmRequest", Duration::from_millis(3), false);
    metrics.observe_reconcile("HelmRequest", Duration::from_millis(20), true);
    metrics.observe_reconcile("ChartRepo", Duration::from_millis(1), false);
    metrics.set_phases([("Synced", 2), ("Failed", 1)]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, metrics.clone()));
    let body = scrape(addr).await;
    for line in [
        "captain_reconciles_total{kind=\"HelmRequest\"} 2",
        "captain_reconciles_total{kind=\"ChartRepo\"} 1",
        "captain_reconcile_errors_total{kind=\"HelmRequest\"} 1",
        "captain_reconcile_duration_seconds_count{kind=\"HelmRequest\"} 2",
        "captain_reconcile_duration_seconds_bucket{le=\"0.004\",kind=\"HelmRequest\"} 1",
        "captain_reconcile_duration_seconds_bucket{le=\"0.032\",kind=\"HelmRequest\"} 2",
        "captain_helmrequests{phase=\"Synced\"} 2",
        "captain_helmrequests{phase=\"Failed\"} 1",
        "captain_helmrequests{phase=\"Pending\"} 0",
        "captain_helmrequests{phase=\"Unknown\"} 0",
    ] {
        assert!(body.lines().any(|l| l == line), "no {line:?} in\n{body}");
    }
    assert!(!body.contains("kube_ovn"), "{body}");
    assert!(
        !body.contains("errors_total{kind=\"ChartRepo\"} 1"),
        "{body}"
    );
    // Phases are recounted, not accumulated.
    metrics.set_phases([("Synced", 3)]);
    let body = scrape(addr).await;
    assert!(
        body.lines()
            .any(|l| l == "captain_helmrequests{phase=\"Synced\"} 3")
    );
    assert!(
        body.lines()
            .any(|l| l == "captain_helmrequests{phase=\"Failed\"} 0")
    );
    server.abort();
}
