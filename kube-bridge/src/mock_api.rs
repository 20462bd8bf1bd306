//! Test support: a kube-rs client over a `tower-test` mock service, and an API server stand-in
//! that checks each request in order and answers it.

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::Client;
use kube::client::Body;
use serde_json::Value;
use tower_test::mock::Handle;

/// The server end of the mock: requests arrive here in the order the client sends them.
pub(crate) struct ApiServer(pub(crate) Handle<Request<Body>, Response<Body>>);

/// A client whose requests go to the returned [`ApiServer`].
pub(crate) fn client() -> (Client, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServer(handle))
}

/// A request as the server saw it.
pub(crate) struct Seen {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body as JSON, `None` when empty.
    pub body: Option<Value>,
}

impl ApiServer {
    /// Waits (bounded) for the next request, answers it with `status` and `response`, and
    /// returns what was asked.
    pub(crate) async fn answer(&mut self, status: u16, response: Value) -> Seen {
        let next = tokio::time::timeout(std::time::Duration::from_secs(30), self.0.next_request());
        let (request, send) = next
            .await
            .expect("a request within 30 s")
            .expect("the client is alive");
        let method = request.method().to_string();
        let uri = request.uri().to_string();
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = request
            .into_body()
            .collect()
            .await
            .expect("request body")
            .to_bytes();
        let body = (!bytes.is_empty())
            .then(|| serde_json::from_slice(&bytes).expect("request body is JSON"));
        let reply = Response::builder()
            .status(status)
            .body(Body::from(serde_json::to_vec(&response).expect("JSON")))
            .expect("response");
        send.send_response(reply);
        Seen {
            method,
            uri,
            content_type,
            body,
        }
    }

    /// Expects a request with exactly this method, path and query, answers it, and returns
    /// its body.
    pub(crate) async fn expect(
        &mut self,
        method: &str,
        uri: &str,
        status: u16,
        response: Value,
    ) -> Option<Value> {
        let seen = self.answer(status, response).await;
        assert_eq!((seen.method.as_str(), seen.uri.as_str()), (method, uri));
        seen.body
    }
}

/// A Kubernetes `Status` failure body.
pub(crate) fn status_failure(code: u16, reason: &str, message: &str) -> Value {
    serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    })
}
