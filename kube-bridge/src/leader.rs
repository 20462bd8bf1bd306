//! Lease-based leader election (`coordination.k8s.io/v1` Lease), as client-go's leaderelection
//! does it: one replica holds the lease and renews it; the others take it over once it has gone
//! unrenewed for its duration, or at once when the holder steps down (clears the holder).
//!
//! Every write carries the `resourceVersion` that was read, so two candidates racing for an
//! expired lease cannot both win: the loser gets a 409 Conflict and stays a follower.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Who holds the lease, as seen by one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leadership {
    /// This candidate holds the lease (acquired or renewed it just now).
    Leading,
    /// Another candidate holds an unexpired lease (or won a race for it).
    Following {
        /// The holder's identity, empty when unknown.
        holder: String,
    },
}

/// One candidate for one Lease.
#[derive(Clone)]
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl LeaseLock {
    /// A candidate `identity` (unique per replica, e.g. the pod name) for the Lease
    /// `namespace/name`, holding it for `duration` per renewal.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
    ) -> Self {
        LeaseLock {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
        }
    }

    /// One attempt now: see [`LeaseLock::try_acquire_or_renew_at`].
    pub async fn try_acquire_or_renew(&self) -> Result<Leadership, kube::Error> {
        self.try_acquire_or_renew_at(Timestamp::now()).await
    }

    /// One attempt at time `now`: creates the lease when absent, renews it when held by this
    /// candidate, takes it over when its holder is empty or it has expired, and otherwise
    /// follows.
    pub async fn try_acquire_or_renew_at(&self, now: Timestamp) -> Result<Leadership, kube::Error> {
        let seconds = i32::try_from(self.duration.as_secs())
            .unwrap_or(i32::MAX)
            .max(1);
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Leadership::Leading),
                Err(kube::Error::Api(s)) if s.is_already_exists() || s.is_conflict() => {
                    Ok(Leadership::Following {
                        holder: String::new(),
                    })
                }
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let mut next = current;
        let new_spec = next.spec.get_or_insert_with(LeaseSpec::default);
        if holder == self.identity {
            new_spec.renew_time = Some(MicroTime(now));
            new_spec.lease_duration_seconds = Some(seconds);
        } else {
            if !holder.is_empty() && !expired(&spec, now) {
                return Ok(Leadership::Following { holder });
            }
            new_spec.holder_identity = Some(self.identity.clone());
            new_spec.lease_duration_seconds = Some(seconds);
            new_spec.acquire_time = Some(MicroTime(now));
            new_spec.renew_time = Some(MicroTime(now));
            new_spec.lease_transitions =
                Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        match self
            .api
            .replace(&self.name, &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(Leadership::Leading),
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(Leadership::Following { holder }),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up (clears the holder) so another candidate takes over without waiting
    /// for expiry. Does nothing when another candidate holds it or it is absent.
    pub async fn step_down(&self) -> Result<(), kube::Error> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let mut next = current;
        let Some(spec) = next.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &next)
            .await
        {
            Ok(_) => Ok(()),
            // Someone else wrote it meanwhile: it is no longer ours to release.
            Err(kube::Error::Api(s)) if s.is_conflict() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Campaigns until `stop` turns true: an attempt every `retry_period`, publishing whether
    /// this candidate leads on `leading`. A failed attempt keeps leadership only while the
    /// last successful renewal is younger than two thirds of the lease duration (client-go's
    /// renew deadline), so a partitioned leader stops leading before the lease can be taken.
    /// Steps down on the way out.
    pub async fn campaign(
        &self,
        retry_period: Duration,
        leading: watch::Sender<bool>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), kube::Error> {
        let renew_deadline = self.duration * 2 / 3;
        let mut last_renewal: Option<tokio::time::Instant> = None;
        while !*stop.borrow() {
            let is_leader = match self.try_acquire_or_renew().await {
                Ok(Leadership::Leading) => {
                    last_renewal = Some(tokio::time::Instant::now());
                    true
                }
                Ok(Leadership::Following { .. }) => {
                    last_renewal = None;
                    false
                }
                Err(e) => {
                    tracing::warn!(lease = %self.name, error = %e, "lease attempt failed");
                    last_renewal.is_some_and(|at| at.elapsed() < renew_deadline)
                }
            };
            leading.send_if_modified(|v| std::mem::replace(v, is_leader) != is_leader);
            tokio::select! {
                _ = tokio::time::sleep(retry_period) => {}
                _ = stop.changed() => {}
            }
        }
        leading.send_replace(false);
        if last_renewal.is_some() {
            self.step_down().await?;
        }
        Ok(())
    }
}

/// Whether a lease has gone unrenewed for its duration at `now`. A lease without a renewal
/// time or duration counts as expired.
fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let (Some(renewed), Some(seconds)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    match renewed
        .0
        .checked_add(SignedDuration::from_secs(i64::from(seconds)))
    {
        Ok(until) => until <= now,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock_api::{self, status_failure};
    use serde_json::json;

    const PATH: &str =
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-ovn-controller";

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn lock(client: Client) -> LeaseLock {
        LeaseLock::new(
            client,
            "kube-system",
            "kube-ovn-controller",
            "pod-a",
            Duration::from_secs(15),
        )
    }

    fn lease(holder: &str, renewed: &str, transitions: i32) -> serde_json::Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "kube-ovn-controller", "namespace": "kube-system", "resourceVersion": "41"},
            "spec": {
                "holderIdentity": holder, "leaseDurationSeconds": 15,
                "acquireTime": "2030-01-01T00:00:00.000000Z", "renewTime": renewed,
                "leaseTransitions": transitions
            }
        })
    }

    #[tokio::test]
    async fn acquires_an_absent_lease_by_creating_it() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            lock(client)
                .try_acquire_or_renew_at(at("2030-01-01T00:00:10Z"))
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                404,
                status_failure(404, "NotFound", "not found"),
            )
            .await;
        let body = server
            .expect(
                "POST",
                "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?",
                201,
                lease("pod-a", "2030-01-01T00:00:10Z", 0),
            )
            .await;
        assert_eq!(
            body,
            Some(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "kube-ovn-controller"},
                "spec": {
                    "holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                    "acquireTime": "2030-01-01T00:00:10.000000Z", "renewTime": "2030-01-01T00:00:10.000000Z",
                    "leaseTransitions": 0
                }
            }))
        );
        assert_eq!(
            task.await.expect("joined").expect("no error"),
            Leadership::Leading
        );
    }

    #[tokio::test]
    async fn renews_its_own_lease_with_the_read_resource_version() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            lock(client)
                .try_acquire_or_renew_at(at("2030-01-01T00:00:12Z"))
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-a", "2030-01-01T00:00:05.000000Z", 3),
            )
            .await;
        let body = server
            .expect(
                "PUT",
                &format!("{PATH}?"),
                200,
                lease("pod-a", "2030-01-01T00:00:12.000000Z", 3),
            )
            .await;
        let mut want = lease("pod-a", "2030-01-01T00:00:12.000000Z", 3);
        // Renewal changes only the renewal time; acquisition time and transitions stay.
        want["metadata"] = json!({"name": "kube-ovn-controller", "namespace": "kube-system", "resourceVersion": "41"});
        assert_eq!(body, Some(want));
        assert_eq!(
            task.await.expect("joined").expect("no error"),
            Leadership::Leading
        );
    }

    #[tokio::test]
    async fn follows_while_another_holder_is_fresh() {
        let (client, mut server) = mock_api::client();
        // Renewed 14 s before a 15 s lease would expire: still held.
        let task = tokio::spawn(async move {
            lock(client)
                .try_acquire_or_renew_at(at("2030-01-01T00:00:14Z"))
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-b", "2030-01-01T00:00:00.000000Z", 2),
            )
            .await;
        assert_eq!(
            task.await.expect("joined").expect("no error"),
            Leadership::Following {
                holder: "pod-b".into()
            }
        );
    }

    #[tokio::test]
    async fn takes_over_an_expired_lease() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            lock(client)
                .try_acquire_or_renew_at(at("2030-01-01T00:00:15Z"))
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-b", "2030-01-01T00:00:00.000000Z", 2),
            )
            .await;
        let body = server
            .expect(
                "PUT",
                &format!("{PATH}?"),
                200,
                lease("pod-a", "2030-01-01T00:00:15.000000Z", 3),
            )
            .await;
        assert_eq!(
            body,
            Some(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": "kube-ovn-controller", "namespace": "kube-system", "resourceVersion": "41"},
                "spec": {
                    "holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                    "acquireTime": "2030-01-01T00:00:15.000000Z", "renewTime": "2030-01-01T00:00:15.000000Z",
                    "leaseTransitions": 3
                }
            }))
        );
        assert_eq!(
            task.await.expect("joined").expect("no error"),
            Leadership::Leading
        );
    }

    #[tokio::test]
    async fn losing_a_takeover_race_is_following_not_an_error() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move {
            lock(client)
                .try_acquire_or_renew_at(at("2030-01-01T00:01:00Z"))
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-b", "2030-01-01T00:00:00.000000Z", 2),
            )
            .await;
        server
            .expect(
                "PUT",
                &format!("{PATH}?"),
                409,
                status_failure(409, "Conflict", "the object has been modified"),
            )
            .await;
        assert_eq!(
            task.await.expect("joined").expect("no error"),
            Leadership::Following {
                holder: "pod-b".into()
            }
        );
    }

    #[tokio::test]
    async fn steps_down_by_clearing_the_holder() {
        let (client, mut server) = mock_api::client();
        let task = tokio::spawn(async move { lock(client).step_down().await });
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-a", "2030-01-01T00:00:00.000000Z", 2),
            )
            .await;
        let body = server
            .expect(
                "PUT",
                &format!("{PATH}?"),
                200,
                lease("", "2030-01-01T00:00:00.000000Z", 2),
            )
            .await;
        let spec = &body.expect("a body")["spec"];
        assert_eq!(spec.get("holderIdentity"), None);
        assert_eq!(spec["leaseDurationSeconds"], 1);
        assert_eq!(spec["leaseTransitions"], 2);
        task.await.expect("joined").expect("no error");
    }

    #[tokio::test]
    async fn campaign_publishes_leadership_and_steps_down_on_stop() {
        let (client, mut server) = mock_api::client();
        let (leading_tx, mut leading) = watch::channel(false);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            lock(client)
                .campaign(Duration::from_secs(3600), leading_tx, stop_rx)
                .await
        });
        server
            .expect(
                "GET",
                PATH,
                404,
                status_failure(404, "NotFound", "not found"),
            )
            .await;
        let leases = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases?";
        server
            .expect(
                "POST",
                leases,
                201,
                lease("pod-a", "2030-01-01T00:00:10.000000Z", 0),
            )
            .await;
        let limit = Duration::from_secs(30);
        tokio::time::timeout(limit, leading.wait_for(|l| *l))
            .await
            .expect("leading")
            .expect("sender alive");
        // Stopping wakes the campaign out of its retry wait and releases the lease.
        stop.send_replace(true);
        server
            .expect(
                "GET",
                PATH,
                200,
                lease("pod-a", "2030-01-01T00:00:10.000000Z", 0),
            )
            .await;
        let body = server
            .expect(
                "PUT",
                &format!("{PATH}?"),
                200,
                lease("", "2030-01-01T00:00:10.000000Z", 0),
            )
            .await;
        assert_eq!(body.expect("a body")["spec"].get("holderIdentity"), None);
        tokio::time::timeout(limit, task)
            .await
            .expect("ended")
            .expect("joined")
            .expect("no error");
        assert!(!*leading.borrow());
    }

    #[test]
    fn expiry_is_renewal_plus_duration() {
        let spec: LeaseSpec =
            serde_json::from_value(lease("x", "2030-01-01T00:00:00Z", 0)["spec"].clone()).unwrap();
        assert!(!expired(&spec, at("2030-01-01T00:00:14.999Z")));
        assert!(expired(&spec, at("2030-01-01T00:00:15Z")));
        assert!(expired(&LeaseSpec::default(), at("2030-01-01T00:00:00Z")));
    }
}
