//! A TCP proxy in front of the test PostgreSQL, for the outage tests: it cuts connections,
//! refuses or stalls new ones, and, through the kernel's firewall, silences the open ones.

use crate::helpers::{Backend, TestApp};
use std::io::copy;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A TCP proxy in front of PostgreSQL that can cut every connection through it and refuse new
/// ones, as a database restart or a network failure does, or take new ones and never answer,
/// as a stalled server does.
pub struct Proxy {
    port: u16,
    pub down: Arc<AtomicBool>,
    stalled: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// Connections taken while stalled: never answered, and never closed while the test runs,
    /// as a hung server holds them.
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (down, open) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (stalled, held) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
        let (is_down, is_stalled, streams, unanswered) = (down.clone(), stalled.clone(), open.clone(), held.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if is_stalled.load(Ordering::SeqCst) {
                    unanswered.lock().unwrap().push(client);
                    continue;
                }
                if is_down.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else { continue };
                // Checked again under the lock `cut` takes: a connection scimd opened while
                // `cut` ran must not outlive it (one that did kept `/readyz` ready, in CI).
                let mut open = streams.lock().unwrap();
                if is_down.load(Ordering::SeqCst) {
                    let _ = (client.shutdown(Shutdown::Both), server.shutdown(Shutdown::Both));
                    continue;
                }
                let pumps = [(client.try_clone(), server.try_clone()), (server.try_clone(), client.try_clone())];
                open.extend([client, server]);
                drop(open);
                for (from, to) in pumps {
                    let (Ok(mut from), Ok(mut to)) = (from, to) else { continue };
                    std::thread::spawn(move || {
                        let _ = copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, down, stalled, open, held }
    }

    /// `url` with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let at = url.find('@').expect("a URL with credentials") + 1;
        let end = at + url[at..].find('/').expect("a database name");
        format!("{}127.0.0.1:{}{}", &url[..at], self.port, &url[end..])
    }

    pub fn cut(&self) {
        let mut open = self.open.lock().unwrap();
        self.down.store(true, Ordering::SeqCst);
        for stream in open.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// `cut`, and new connections are then taken and never answered.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
        self.cut();
    }

    /// How many connections were taken while stalled.
    pub fn stalled_connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }

    /// New connections reach PostgreSQL again (those taken while stalled stay unanswered).
    pub fn restore(&self) {
        self.stalled.store(false, Ordering::SeqCst);
        self.down.store(false, Ordering::SeqCst);
    }
}

/// A `Proxy` in front of `SCIMD_TEST_POSTGRES_URL`'s server; `None` (the test skipped)
/// without it.
pub fn proxy_to_postgres() -> Option<Proxy> {
    let Some(admin_url) = std::env::var("SCIMD_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        eprintln!("skipped: SCIMD_TEST_POSTGRES_URL is not set");
        return None;
    };
    let at = admin_url.find('@').unwrap() + 1;
    Some(Proxy::start(admin_url[at..].split(['/', '?']).next().unwrap().to_string()))
}

/// scimd on PostgreSQL through a `Proxy`, with a database wait of `wait`; `None` (the test
/// skipped) without `SCIMD_TEST_POSTGRES_URL`.
pub async fn behind_a_proxy(wait: Duration) -> Option<(Proxy, TestApp)> {
    let proxy = proxy_to_postgres()?;
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        settings.database_url = proxy.url_for(&settings.database_url);
        settings.database_wait = wait;
    })
    .await
    .unwrap();
    Some((proxy, app))
}

impl Proxy {
    /// Drops, in the kernel's firewall, every packet of the connections open through the proxy
    /// now, both ways, until the returned rules are dropped: their server has gone silent
    /// without a RST, as after a failover that moved its address. New connections pass.
    /// `Firewall` is the proof, from `firewall()`, that `iptables` can be used here.
    pub fn silence_open_connections(&self, _: &Firewall) -> Silenced {
        let clients: Vec<u16> = self
            .open
            .lock()
            .unwrap()
            .iter()
            .filter(|stream| stream.local_addr().is_ok_and(|a| a.port() == self.port))
            .filter_map(|stream| stream.peer_addr().ok().map(|a| a.port()))
            .collect();
        assert!(!clients.is_empty(), "no connection open through the proxy");
        let mut silenced = Silenced { rules: Vec::new() };
        for client in clients {
            for (from, to) in [(client, self.port), (self.port, client)] {
                let rule = format!("INPUT -i lo -p tcp --sport {from} --dport {to} -j DROP");
                let out = iptables(&format!("-I {rule}")).expect("iptables runs");
                assert!(out.status.success(), "iptables -I {rule}: {}", String::from_utf8_lossy(&out.stderr));
                silenced.rules.push(rule);
            }
        }
        silenced
    }
}

/// The kernel's firewall, through `iptables` (root only).
pub struct Firewall;

/// `iptables` with `args`, words apart.
fn iptables(args: &str) -> std::io::Result<std::process::Output> {
    Command::new("iptables").args(args.split_whitespace()).output()
}

/// The firewall, or `None` (the test skipped) where `iptables` cannot change it, unless
/// `SCIMD_REQUIRE_FIREWALL` is set (CI sets it): then its absence fails the test.
pub fn firewall() -> Option<Firewall> {
    let usable = iptables("-S INPUT").is_ok_and(|out| out.status.success());
    if usable {
        return Some(Firewall);
    }
    assert!(
        std::env::var_os("SCIMD_REQUIRE_FIREWALL").is_none(),
        "SCIMD_REQUIRE_FIREWALL is set and iptables cannot be used"
    );
    eprintln!("skipped: iptables cannot be used here (root and iptables needed)");
    None
}

/// Firewall rules that are deleted when this is dropped.
pub struct Silenced {
    rules: Vec<String>,
}

impl Drop for Silenced {
    fn drop(&mut self) {
        for rule in &self.rules {
            let _ = iptables(&format!("-D {rule}"));
        }
    }
}
