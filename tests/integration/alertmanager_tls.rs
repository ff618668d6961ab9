//! TLS to Alertmanager (issue 12, item 4): the real Alertmanager serves https on loopback with a
//! certificate for 127.0.0.1 from a throwaway CA that `openssl` makes at test time, and asks for
//! basic authentication. Without `--alertmanager-ca-file` (the system's roots) and with the
//! wrong CA file gwmon says on stderr that the certificate is refused and nothing arrives; with
//! the CA file the alert arrives, the credential and a header going over TLS. A bad CA file is
//! an error at startup.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// The test password, and its bcrypt hash (cost 4) for Alertmanager's `basic_auth_users`.
const USER: &str = "gwmon";
const PASSWORD: &str = "gwmon-test-pw";
const PASSWORD_BCRYPT: &str = "$2b$04$gwmonTestSaltForAlerteqEHT7HeGqdE3CBjYh1F7560Xo.KGESq";
/// `Basic base64(USER:PASSWORD)`.
const AUTHORIZATION: &str = "Basic Z3dtb246Z3dtb24tdGVzdC1wdw==";

/// A CA, a server certificate for IP 127.0.0.1 signed by it, and another CA that signed
/// nothing.
struct Pki {
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(bin: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&out, &format!("openssl {args:?}"));
}

fn make_pki(bin: &Path, dir: &Path) -> Pki {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [("ca", "gwmon test CA"), ("other-ca", "gwmon other CA")] {
        let (key, pem, subj) = (
            format!("{name}.key"),
            format!("{name}.pem"),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
        args.extend(["-addext", "keyUsage=critical,keyCertSign"]);
        openssl(bin, dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(bin, dir, &args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        bin,
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    Pki {
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other-ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// An https client of our own that trusts `ca` only (ureq, gwmon's own HTTP client, is at hand
/// to the tests), answering every status.
fn https_agent(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).unwrap();
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|i| match i.unwrap() {
            ureq::tls::PemItem::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// GET `path` from `base` with the test credential: the status and the body.
fn get(agent: &ureq::Agent, base: &str, path: &str) -> Option<(u16, String)> {
    let mut resp = agent
        .get(format!("{base}{path}"))
        .header("Authorization", AUTHORIZATION)
        .call()
        .ok()?;
    let code = resp.status().as_u16();
    Some((code, resp.body_mut().read_to_string().ok()?))
}

/// The real Alertmanager on `addr`, serving https with `pki`'s server certificate and asking for
/// basic authentication.
fn start_am(bin: &Path, dir: &Path, addr: &str, pki: &Pki, agent: &ureq::Agent) -> Proc {
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {USER}: {PASSWORD_BCRYPT}\n",
            s(&pki.cert),
            s(&pki.key)
        ),
    )
    .unwrap();
    let p = Proc(
        alertmanager(bin, dir, &dir.join("am-data"), addr)
            .arg(format!("--web.config.file={}", s(&web)))
            .spawn()
            .unwrap(),
    );
    let base = format!("https://{addr}");
    wait_for(30, "alertmanager ready over https", || {
        get(agent, &base, "/-/ready").filter(|(c, _)| *c == 200)
    });
    // The credential is asked for: without it, 401.
    let (code, _) = agent
        .get(format!("{base}/api/v2/alerts"))
        .call()
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(code, 401, "alertmanager asks for basic authentication");
    p
}

/// The alert names active in the Alertmanager.
fn active(agent: &ureq::Agent, base: &str) -> Vec<String> {
    let (code, body) = get(agent, base, "/api/v2/alerts").expect("alertmanager answers");
    assert_eq!(code, 200, "{body}");
    let list: Vec<Value> = serde_json::from_str(&body).unwrap();
    list.iter()
        .filter(|a| a["status"]["state"] == "active")
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// `gwmon watch` over `log` from its start with `args`, its stderr lines as they come.
fn watch(log: &Path, args: &[&str]) -> (Proc, Receiver<String>) {
    let mut child = gwmon()
        .args(["watch", "--from-start", "--pool-size", "1", "-q"])
        .args(args)
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    (Proc(child), rx)
}

fn stop(mut p: Proc) {
    sigterm(&p.0);
    assert!(wait_exit(&mut p.0, 20).success());
}

#[test]
fn alerts_reach_an_https_alertmanager_only_through_the_ca_that_signed_its_certificate() {
    let Some(am) = tool(&["prometheus-alertmanager", "alertmanager"]) else {
        return;
    };
    let Some(openssl) = tool(&["openssl"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(&openssl, dir.path());
    let agent = https_agent(&pki.ca);
    let addr = format!("127.0.0.1:{}", free_port());
    let base = format!("https://{addr}");
    let _am = start_am(&am, dir.path(), &addr, &pki, &agent);
    let cred = dir.path().join("am.cred");
    std::fs::write(&cred, format!("{USER}:{PASSWORD}\n")).unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::File::create(&log)
        .unwrap()
        .write_all(refusal(ORG_A).as_bytes())
        .unwrap();
    let url = format!("{base}/api/v2/alerts");
    let auth = ["--alertmanager-basic-auth-file", s(&cred)];

    // The system's roots do not hold the throwaway CA: the first failed handshake is said.
    let (w, err) = watch(&log, &[&["--alertmanager", &base][..], &auth].concat());
    let said = expect_line(&err, "retrying");
    assert_eq!(
        said,
        format!(
            "gwmon: alertmanager {url}: TLS: the server's certificate is not signed by a CA the system trusts (UnknownIssuer): give its CA with --alertmanager-ca-file FILE; retrying"
        )
    );
    stop(w);
    assert_eq!(
        active(&agent, &base),
        Vec::<String>::new(),
        "nothing arrived"
    );

    // A CA file without the CA that signed it: refused too, the file named.
    let other = ["--alertmanager-ca-file", s(&pki.other_ca)];
    let (w, err) = watch(
        &log,
        &[&["--alertmanager", &base][..], &auth, &other].concat(),
    );
    let said = expect_line(&err, "retrying");
    assert_eq!(
        said,
        format!(
            "gwmon: alertmanager {url}: TLS: the server's certificate is not signed by a CA of --alertmanager-ca-file {} (UnknownIssuer); retrying",
            s(&pki.other_ca)
        )
    );
    stop(w);
    assert_eq!(
        active(&agent, &base),
        Vec::<String>::new(),
        "nothing arrived"
    );

    // The CA file: the alert arrives (so the credential went over TLS: the Alertmanager asks
    // for it), with no complaint on stderr.
    let ca = ["--alertmanager-ca-file", s(&pki.ca)];
    let header = ["--alertmanager-header", "X-Scope-OrgID: gwmon-test"];
    let (w, err) = watch(
        &log,
        &[
            &["--alertmanager", &format!("{base}/")][..],
            &auth,
            &ca,
            &header,
        ]
        .concat(),
    );
    wait_for(30, "pool_exhausted in the https alertmanager", || {
        active(&agent, &base)
            .iter()
            .any(|a| a == "pool_exhausted")
            .then_some(())
    });
    stop(w);
    let said: Vec<String> = err
        .try_iter()
        .filter(|l| l.starts_with("gwmon: alertmanager"))
        .collect();
    assert!(said.is_empty(), "{said:?}");
}

#[test]
fn a_bad_ca_file_is_an_error_at_startup_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ganymede.log");
    std::fs::write(&log, "").unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        s(&p).to_owned()
    };
    let missing = s(&dir.path().join("missing-ca.pem")).to_owned();
    let empty = write("empty-ca.pem", "");
    let der = write("der-ca.pem", "0\u{82}\u{1}\u{94} not PEM");
    // A throwaway key made for this test (it protects nothing).
    let key = write(
        "key-ca.pem",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGwcd1mBa7u7ZzBq6u4qmPKvd3vHlXQgX1nZHWyTXzmC\n-----END PRIVATE KEY-----\n",
    );
    let https = "https://127.0.0.1:9";
    for (am, ca, want) in [
        (
            https,
            &missing,
            format!("--alertmanager-ca-file {missing}: "),
        ),
        (
            https,
            &empty,
            format!("--alertmanager-ca-file {empty}: no certificate in it"),
        ),
        (
            https,
            &der,
            format!("--alertmanager-ca-file {der}: no certificate in it"),
        ),
        (
            https,
            &key,
            format!("--alertmanager-ca-file {key}: holds a private key"),
        ),
        (
            "http://127.0.0.1:9",
            &empty,
            format!("--alertmanager-ca-file {empty}: no --alertmanager URL is https://"),
        ),
    ] {
        let args = [
            "watch",
            "--alertmanager",
            am,
            "--alertmanager-ca-file",
            ca,
            s(&log),
        ];
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("gwmon: {want}")),
            "{args:?}: {err}"
        );
    }
    // Without --alertmanager it is a usage error.
    let out = run(&["watch", "--alertmanager-ca-file", &empty, s(&log)], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--alertmanager <URL>"));
}
