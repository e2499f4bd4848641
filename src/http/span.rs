//! Each request's root span: what a log line written while serving it says about the request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::field::Empty;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The method, path, peer address (and any forwarded-for), request id, and the status once known.
///
/// tracing-actix-web's default span works out its fields before the span macro knows whether
/// anyone records it: it walks the routes a second time for the route's pattern and builds the
/// connection's info (host, scheme, forwarded-for address, formatted): 5% of scimd's CPU on a
/// request that reads no database (`perf`, BENCHMARKS.md). Here the fields are borrowed values
/// that `info_span!` formats only for a subscriber that records the span. The peer address is
/// the socket's, which a client cannot forge; behind a proxy, the `X-Forwarded-For` header the
/// proxy passes on is recorded beside it, under its own name, as what the client side claims.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            method = %request.method(),
            path = head(request.path()),
            peer = request.peer_addr().map(tracing::field::display),
            forwarded_for = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()).map(head),
            request_id = request_id.map(tracing::field::display),
            status = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
    }
}

/// At most the first 500 characters (as the request log keeps): every line written while
/// serving a request repeats its path, which a client may make tens of kilobytes long.
fn head(s: &str) -> &str {
    crate::activity::clipped_str(s, 500)
}

#[cfg(test)]
mod tests {
    use super::RequestSpan;
    use actix_web::{test, web, App, HttpResponse};
    use std::sync::{Arc, Mutex};
    use tracing_actix_web::TracingLogger;
    use tracing_subscriber::layer::SubscriberExt;

    /// Collects the formatted lines a subscriber writes.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[actix_web::test]
    async fn a_log_line_inside_a_request_names_its_method_path_peer_forwarded_for_and_id() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(move || writer.clone()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(App::new().wrap(TracingLogger::<RequestSpan>::new()).route(
            "/scim/v2/{tenant}/Users/{id}",
            web::get().to(|| async {
                tracing::warn!("inside");
                HttpResponse::NotFound().finish()
            }),
        ))
        .await;
        let req = test::TestRequest::get()
            .uri("/scim/v2/acme/Users/u-1")
            .peer_addr("192.0.2.7:4711".parse().unwrap())
            .insert_header(("X-Forwarded-For", "198.51.100.3"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), 404);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line = text.lines().find(|l| l.contains("inside")).unwrap_or_else(|| panic!("no line in {text:?}"));
        let parts = [
            "request{",
            "method=GET",
            "path=\"/scim/v2/acme/Users/u-1\"",
            "peer=192.0.2.7:4711",
            "forwarded_for=\"198.51.100.3\"",
            "request_id=",
        ];
        for part in parts {
            assert!(line.contains(part), "{part} missing from {line:?}");
        }

        lines.0.lock().unwrap().clear();
        let direct = test::TestRequest::get().uri("/scim/v2/acme/Users/u-2").to_request();
        test::call_service(&app, direct).await;
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line = text.lines().find(|l| l.contains("inside")).unwrap_or_else(|| panic!("no line in {text:?}"));
        assert!(line.contains("u-2") && !line.contains("forwarded_for"), "{line:?}");

        // A path or forwarded-for of 30,000 characters is shown by its first 500.
        lines.0.lock().unwrap().clear();
        let long = "203.0.113.9,".repeat(2_500);
        let req = test::TestRequest::get()
            .uri(&format!("/scim/v2/acme/Users/{}", "x".repeat(30_000)))
            .insert_header(("X-Forwarded-For", long.as_str()))
            .to_request();
        test::call_service(&app, req).await;
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line = text.lines().find(|l| l.contains("inside")).unwrap_or_else(|| panic!("no line in {text:?}"));
        assert!(line.len() < 2_000, "{} bytes", line.len());
        assert!(
            line.contains(&format!("path=\"/scim/v2/acme/Users/{}\"", "x".repeat(500 - "/scim/v2/acme/Users/".len()))),
            "{line:?}"
        );
        assert!(line.contains(&format!("forwarded_for=\"{}\"", &long[..500])), "{line:?}");
        assert_eq!(super::head(&"é".repeat(600)), "é".repeat(500), "cut between characters");
    }
}
