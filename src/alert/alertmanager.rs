//! Alertmanager v2 sink (`--alertmanager URL`): POST `/api/v2/alerts` from a thread of its own,
//! so a slow or absent Alertmanager never blocks the reading of logs.
//!
//! The client protocol, as Prometheus speaks it: while an alert fires it is re-sent every
//! interval with `endsAt` four intervals ahead; on resolve it is sent with `endsAt` = the resolve
//! time and re-sent for 5 minutes, since Alertmanager keeps no state of its own for clients.
//! Failed posts are retried with exponential backoff (1 s doubling up to 60 s).
//!
//! `https://` URLs speak TLS (rustls with the ring provider): the server's certificate is
//! verified against the system's trusted roots, or against the CA certificates of
//! `--alertmanager-ca-file` instead (as Prometheus's `ca_file` does). The file is read and
//! checked at startup ([`CaFile::load`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Alert, Notification, Status};
use crate::units::time::wall_now;
use crate::units::{Millis, fmt_time};

pub struct Client {
    tx: Option<Sender<Notification>>,
    handle: Option<thread::JoinHandle<()>>,
}

struct Entry {
    alert: Alert,
    /// When the resolution was first sent (resolved alerts are re-sent for 5 minutes).
    resolved: Option<Instant>,
}

const KEEP_RESOLVED: Duration = Duration::from_secs(300);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// An Alertmanager URL this build can speak to: `http://` or `https://HOST[:PORT][/PATH]`.
pub fn check_url(base: &str) -> anyhow::Result<()> {
    let Some(rest) = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
    else {
        anyhow::bail!("--alertmanager {base}: expected an http:// or https:// URL");
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(['@', ' ', '?', '#']) {
        anyhow::bail!("--alertmanager {base}: expected http(s)://HOST[:PORT]");
    }
    Ok(())
}

/// `--alertmanager-ca-file`: the CA certificates https Alertmanagers are verified against,
/// instead of the system roots.
#[derive(Clone, Debug)]
pub struct CaFile {
    pub path: PathBuf,
    certs: Arc<Vec<ureq::tls::Certificate<'static>>>,
}

impl CaFile {
    /// Read `path`: PEM, one or more certificates, each a parsable X.509 certificate (the
    /// file is refused whole rather than a bad one skipped, so it fails now, not at the first
    /// handshake). A private key in it is refused: a CA file holds no secret.
    pub fn load(path: &Path) -> anyhow::Result<CaFile> {
        let name = format!("--alertmanager-ca-file {}", path.display());
        let pem = std::fs::read(path).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let mut certs = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            let item = item.map_err(|e| match e {
                ureq::Error::Pem(e) => anyhow::anyhow!("{name}: not valid PEM ({e:?})"),
                e => anyhow::anyhow!("{name}: not valid PEM ({e})"),
            })?;
            match item {
                ureq::tls::PemItem::Certificate(c) => {
                    // What rustls will make of it, asked now.
                    let der = rustls::pki_types::CertificateDer::from(c.der());
                    rustls::RootCertStore::empty().add(der).map_err(|e| {
                        let why = match e {
                            rustls::Error::InvalidCertificate(e) => format!("{e:?}"),
                            e => e.to_string(),
                        };
                        anyhow::anyhow!(
                            "{name}: certificate {} is not a usable CA certificate ({why})",
                            certs.len() + 1
                        )
                    })?;
                    certs.push(c);
                }
                ureq::tls::PemItem::PrivateKey(_) => {
                    anyhow::bail!("{name}: holds a private key; give the CA certificates only")
                }
                _ => {}
            }
        }
        if certs.is_empty() {
            anyhow::bail!(
                "{name}: no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)"
            );
        }
        Ok(CaFile {
            path: path.to_owned(),
            certs: Arc::new(certs),
        })
    }
}

/// TLS for https URLs: the CA file's certificates, else the platform verifier (the system's
/// roots; `SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
fn tls_config(ca: Option<&CaFile>) -> ureq::tls::TlsConfig {
    let roots = match ca {
        Some(ca) => ureq::tls::RootCerts::Specific(Arc::clone(&ca.certs)),
        None => ureq::tls::RootCerts::PlatformVerifier,
    };
    ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(roots)
        .build()
}

/// A failed post, said for a person: rustls's certificate errors get what to do about them.
fn describe(err: &ureq::Error, ca: Option<&CaFile>) -> String {
    use rustls::{CertificateError, Error as Tls};
    // ureq passes a handshake's failure on as an io::Error holding the rustls one.
    let tls = match err {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref().and_then(|e| e.downcast_ref::<Tls>()),
        _ => None,
    };
    let Some(tls) = tls else {
        return err.to_string();
    };
    match tls {
        Tls::InvalidCertificate(CertificateError::UnknownIssuer) => match ca {
            Some(ca) => format!(
                "TLS: the server's certificate is not signed by a CA of --alertmanager-ca-file {} (UnknownIssuer)",
                ca.path.display()
            ),
            None => "TLS: the server's certificate is not signed by a CA the system trusts (UnknownIssuer): give its CA with --alertmanager-ca-file FILE".to_owned(),
        },
        Tls::InvalidCertificate(e) => format!("TLS: the server's certificate was refused: {e}"),
        Tls::InvalidMessage(_) => {
            format!("TLS handshake failed ({tls}): not an https listener (plain http?)")
        }
        _ => format!("TLS: {tls}"),
    }
}

impl Client {
    /// `base`: the Alertmanager URL (`http://host:9093`, `https://…`); `interval`: the resend
    /// interval; `headers`: sent with every request; `ca`: what an https server's certificate
    /// is verified against (None: the system roots).
    pub fn new(
        base: &str,
        interval: Duration,
        headers: Arc<Vec<(String, String)>>,
        ca: Option<CaFile>,
    ) -> anyhow::Result<Client> {
        check_url(base)?;
        let base = base.trim_end_matches('/').to_owned();
        let url = format!("{base}/api/v2/alerts");
        let tls = tls_config(ca.as_ref());
        let (tx, rx) = mpsc::channel::<Notification>();
        let handle = thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(5)))
                .tls_config(tls)
                .build()
                .into();
            let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
            let mut next_send = Instant::now() + interval;
            let mut backoff = Duration::from_secs(1);
            let mut failing = false;
            let mut open = true;
            while open || !entries.is_empty() {
                let wait = next_send.saturating_duration_since(Instant::now());
                let mut changed = false;
                if open {
                    match rx.recv_timeout(wait) {
                        Ok(n) => {
                            update(&mut entries, n);
                            changed = true;
                            // Take whatever else is queued before posting.
                            while let Ok(n) = rx.try_recv() {
                                update(&mut entries, n);
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => {
                            open = false;
                            changed = true;
                        }
                    }
                } else if !changed {
                    // Shutting down: one last post of what we have, then stop.
                    changed = true;
                }
                if !changed && Instant::now() < next_send {
                    continue;
                }
                if entries.is_empty() {
                    next_send = Instant::now() + interval;
                    continue;
                }
                let body = body(&entries, interval);
                let mut req = agent.post(&url).header("Content-Type", "application/json");
                for (k, v) in headers.iter() {
                    req = req.header(k, v);
                }
                match req.send(body.as_bytes()) {
                    Ok(_) => {
                        if failing {
                            eprintln!("gwmon: alertmanager {url}: reachable again");
                        }
                        failing = false;
                        backoff = Duration::from_secs(1);
                        next_send = Instant::now() + interval;
                        let now = Instant::now();
                        for e in entries.values_mut() {
                            if e.alert.ends_at.is_some() && e.resolved.is_none() {
                                e.resolved = Some(now);
                            }
                        }
                        entries.retain(|_, e| e.resolved.is_none_or(|r| now - r < KEEP_RESOLVED));
                        if !open {
                            break;
                        }
                    }
                    Err(err) => {
                        if !failing {
                            let err = describe(&err, ca.as_ref());
                            eprintln!("gwmon: alertmanager {url}: {err}; retrying");
                        }
                        failing = true;
                        if !open {
                            break;
                        }
                        next_send = Instant::now() + backoff;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
        });
        Ok(Client {
            tx: Some(tx),
            handle: Some(handle),
        })
    }

    pub fn update(&self, n: &Notification) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(n.clone());
        }
    }

    /// Tell the client to post the latest state once more and stop (see [`Client::join`]).
    pub fn close(&mut self) {
        self.tx = None;
    }

    /// Wait for the last post (closing first if not done).
    pub fn join(mut self) {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn update(entries: &mut BTreeMap<String, Entry>, n: Notification) {
    let mut alert = n.alert;
    if n.status == Status::Resolved {
        alert.ends_at = Some(n.at);
    }
    entries.insert(
        alert.fingerprint.clone(),
        Entry {
            alert,
            resolved: None,
        },
    );
}

fn body(entries: &BTreeMap<String, Entry>, interval: Duration) -> String {
    let ahead = wall_now() + 4 * interval.as_millis() as Millis;
    let alerts: Vec<serde_json::Value> = entries
        .values()
        .map(|e| {
            let a = &e.alert;
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!(a.rule));
            labels.insert("severity".into(), json!(a.severity));
            for (k, v) in &a.labels {
                labels.insert(k.clone(), json!(v));
            }
            json!({
                "labels": labels,
                "annotations": {"summary": a.summary, "value": a.value.to_string()},
                "startsAt": fmt_time(a.starts_at),
                "endsAt": fmt_time(a.ends_at.unwrap_or(ahead.max(a.starts_at + 1))),
                "generatorURL": "",
            })
        })
        .collect();
    serde_json::Value::Array(alerts).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_accepted_other_schemes_refused() {
        for ok in [
            "http://127.0.0.1:9093",
            "https://127.0.0.1:9093",
            "https://am.example.net",
            "https://am.example.net:9093/prefix/",
            "https://[::1]:9093",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for (bad, want) in [
            ("ftp://am:21", "expected an http:// or https:// URL"),
            ("HTTPS://am:9093", "expected an http:// or https:// URL"),
            ("am:9093", "expected an http:// or https:// URL"),
            ("https://", "expected http(s)://HOST[:PORT]"),
            ("https:///api", "expected http(s)://HOST[:PORT]"),
            ("https://user:pw@am:9093", "expected http(s)://HOST[:PORT]"),
        ] {
            let err = check_url(bad).unwrap_err().to_string();
            assert!(err.contains(want), "{bad}: {err}");
        }
    }

    /// A throwaway self-signed CA certificate (its key was not kept).
    const CA_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBlDCCATqgAwIBAgITOoxZyzTDM6dz+xjtfGR8VHnPADAKBggqhkjOPQQDAjAY
MRYwFAYDVQQDDA1nd21vbiB0ZXN0IENBMB4XDTI2MTIwMTEzNTYzNFoXDTI2MTIw
MzEzNTYzNFowGDEWMBQGA1UEAwwNZ3dtb24gdGVzdCBDQTBZMBMGByqGSM49AgEG
CCqGSM49AwEHA0IABLyduM0+qs4pDaVVUz3kO9OdivmaEtiZIaLu7pvTxpN7Qqrh
gyCGkT5rZGPvLqXDfvOIVFkBWfykypgdb7QQ7DijYzBhMB0GA1UdDgQWBBS9scLX
GghQbIiKsw3R4Az+Uj/GHTAfBgNVHSMEGDAWgBS9scLXGghQbIiKsw3R4Az+Uj/G
HTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQDAgNI
ADBFAiBcR575XrdYvdUtukVnIN8G/ekmoV52cSriCuW31TPOdQIhAMByF5TAYqGa
6P4b3ZAaoWbGvoLKHZiRRYM5XnHzYTsp
-----END CERTIFICATE-----
";

    #[test]
    fn a_ca_file_holds_certificates_only() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let two = write("two.pem", &format!("# ours\n{CA_PEM}{CA_PEM}"));
        assert_eq!(CaFile::load(&two).unwrap().certs.len(), 2);
        // A throwaway key made for this test (it protects nothing).
        let key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGwcd1mBa7u7ZzBq6u4qmPKvd3vHlXQgX1nZHWyTXzmC\n-----END PRIVATE KEY-----\n";
        for (name, text, want) in [
            ("empty.pem", "", "no certificate in it"),
            ("der.pem", "0\u{82}\u{1}\u{94}", "no certificate in it"),
            (
                "short.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                "certificate 1 is not a usable CA certificate (BadEncoding)",
            ),
            (
                "b64.pem",
                "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
                "not valid PEM",
            ),
            ("key.pem", &format!("{CA_PEM}{key}"), "holds a private key"),
        ] {
            let p = write(name, text);
            let err = CaFile::load(&p).unwrap_err().to_string();
            assert!(err.starts_with("--alertmanager-ca-file "), "{name}: {err}");
            assert!(err.contains(name) && err.contains(want), "{name}: {err}");
        }
        let err = CaFile::load(&dir.path().join("missing.pem")).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn certificate_errors_say_what_to_do() {
        let unknown = || {
            ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            ))
        };
        let msg = describe(&unknown(), None);
        assert!(
            msg.contains("not signed by a CA the system trusts")
                && msg.contains("--alertmanager-ca-file FILE"),
            "{msg}"
        );
        let ca = CaFile {
            path: PathBuf::from("/etc/gwmon/am-ca.pem"),
            certs: Arc::new(Vec::new()),
        };
        let msg = describe(&unknown(), Some(&ca));
        assert!(
            msg.contains("not signed by a CA of --alertmanager-ca-file /etc/gwmon/am-ca.pem"),
            "{msg}"
        );
        let plain = ureq::Error::Rustls(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(describe(&plain, None).contains("plain http?"));
        let refused = ureq::Error::Io(std::io::ErrorKind::ConnectionRefused.into());
        assert_eq!(describe(&refused, None), refused.to_string());
    }
}
