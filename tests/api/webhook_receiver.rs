//! A local webhook receiver for the tests (records each request, answers as a test tells it),
//! Standard Webhooks signature checks written apart from scimd's signer, and admin API calls.

use crate::helpers::TestApp;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use awc::http::{Method, StatusCode};
use base64::Engine;
use hmac::{Hmac, Mac};
use scimd::clock::SystemClock;
use serde_json::Value;
use sha2::Sha256;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How the receiver answers: `script` first (one status per request), then `otherwise`.
#[derive(Default)]
pub struct Behaviour {
    pub script: VecDeque<u16>,
    pub otherwise: Option<u16>,
    pub delay: Option<Duration>,
    pub big_body: bool,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let mut receiver = Receiver::default();
        let shared = receiver.clone();
        let server = HttpServer::new(move || {
            let r = shared.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let r = r.clone();
                async move { r.answer(req, body).await }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        receiver.url = format!("http://{}/hooks", server.addrs()[0]);
        actix_web::rt::spawn(server.run());
        receiver
    }

    async fn answer(&self, req: HttpRequest, body: web::Bytes) -> HttpResponse {
        let header = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let (status, delay, big) = {
            let mut b = self.behaviour.lock().unwrap();
            let status = b.script.pop_front().or(b.otherwise).unwrap_or(204);
            (status, b.delay, b.big_body)
        };
        if let Some(d) = delay {
            actix_web::rt::time::sleep(d).await;
        }
        self.log.lock().unwrap().push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp").parse().unwrap_or(0),
            signature: header("webhook-signature"),
            body: body.to_vec(),
            status,
        });
        let mut res = HttpResponse::build(StatusCode::from_u16(status).unwrap());
        if status == 302 {
            res.insert_header(("Location", format!("{}/elsewhere", self.url)));
        }
        if big {
            return res.body(vec![b'x'; 8 * 1024 * 1024]);
        }
        res.body(format!("answer {status}"))
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// Answer 500 to everything (or stop doing so).
    pub fn fail_always(&self, on: bool) {
        self.set(|b| b.otherwise = on.then_some(500));
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// The events acknowledged with a 2xx, first delivery of each webhook-id, in arrival order.
    pub fn delivered(&self) -> Vec<Value> {
        let mut seen = HashSet::new();
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status) && seen.insert(r.id.clone()))
            .map(|r| r.json())
            .collect()
    }

    pub async fn wait_for(&self, what: &str, mut done: impl FnMut(&Receiver) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}; got {:#?}",
                self.received()
            );
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Standard Webhooks verification, written independently of scimd's signer.
#[track_caller]
pub fn assert_signed(r: &Received, secret: &str) {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
    assert!(r.signature.split(' ').any(|s| s == expected), "bad signature {:?} for {}", r.signature, r.id);
    let now = chrono::Utc::now().timestamp();
    assert!((now - r.timestamp).abs() < 300, "timestamp {} is not current", r.timestamp);
}

pub fn admin_token(app: &TestApp) -> String {
    format!("Bearer {}", scimd::admin::api_tokens::issue(&app.store, &SystemClock, None).unwrap().1)
}

pub async fn admin_call(
    app: &TestApp,
    admin: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::helpers::Response {
    let url = format!("{}/admin/api{path}", app.local);
    let headers: &[(&str, &str)] = &[("Content-Type", "application/json")];
    app.send_raw(method, &url, Some(admin), headers, body.map(|b| b.to_string().into_bytes())).await
}
