//! In-process handshakes between the listener and cluster sides built from the model:
//! SNI/ALPN context choice, SPIFFE checks both ways, hot swap of certificate files and
//! expiry. Certificates are made here with rcgen, except the SM2 ones of the ShangMi
//! (RFC 8998) cases, which are Tongsuo's from the shared GM test data.

use mosn_tls::rustls::server::Acceptor;
use mosn_tls::tokio_rustls::LazyConfigAcceptor;
use mosn_tls::{cluster_tls, listener_tls, PemSource, ServerTls, TlsContextConfig, Watched};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "test ca");
    let key = KeyPair::generate().unwrap();
    Ca {
        cert: params.self_signed(&key).unwrap(),
        key,
    }
}

/// A leaf for `dns` with the URI SAN `spiffe://test/<id>`, valid `days`: (cert, key) PEM.
fn leaf(ca: &Ca, id: &str, dns: &str, days: i64) -> (String, String) {
    let mut params = CertificateParams::new(vec![dns.to_owned()]).unwrap();
    params.subject_alt_names.push(SanType::URI(
        format!("spiffe://test/{id}").try_into().unwrap(),
    ));
    params.distinguished_name.push(DnType::CommonName, id);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = time_in_days(days);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca.cert, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn time_in_days(days: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() + time::Duration::days(days)
}

fn server_ctx((cert, key): &(String, String), alpn: &[&str]) -> TlsContextConfig {
    TlsContextConfig {
        cert_chain: Some(PemSource::inline(cert)),
        private_key: Some(PemSource::inline(key)),
        alpn: alpn.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn client_ctx(ca: &Ca, server_name: &str, alpn: &[&str], spiffe: &[&str]) -> TlsContextConfig {
    TlsContextConfig {
        server_name: Some(server_name.to_owned()),
        ca_cert: Some(PemSource::inline(&ca.cert.pem())),
        alpn: alpn.iter().map(|s| s.to_string()).collect(),
        spiffe_ids: spiffe.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// One handshake: the server picks its config from `server` by the ClientHello; returns
/// the server's identity as the client saw it and the negotiated ALPN, or the error of
/// either side.
async fn handshake(
    server: Arc<ServerTls>,
    client: &TlsContextConfig,
) -> std::io::Result<(Option<String>, Option<Vec<u8>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let start = LazyConfigAcceptor::new(Acceptor::default(), tcp).await?;
        let hello = start.client_hello();
        let sni = hello.server_name().map(str::to_owned);
        let alpn: Vec<Vec<u8>> = hello
            .alpn()
            .map(|a| a.map(<[u8]>::to_vec).collect())
            .unwrap_or_default();
        let suites = hello.cipher_suites().to_vec();
        let config = server
            .select(sni.as_deref(), alpn.iter().map(Vec::as_slice), &suites)
            .expect("a context");
        start.into_stream(config).await.map(drop)
    });
    let tls = cluster_tls("c", Arc::new(client.clone())).map_err(std::io::Error::other)?;
    let tcp = TcpStream::connect(addr).await?;
    let stream = tls.load().connect(tcp, "unused").await;
    let served = accept.await.expect("the accept task");
    let mosn_tls::ClientStream::Tls(stream) = stream? else {
        panic!("a TLS context made a TLCP connection");
    };
    // TLS 1.3 clients finish before the server has checked their certificate.
    served?;
    let conn = stream.get_ref().1;
    let identity = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(mosn_tls::peer_identity);
    Ok((identity, conn.alpn_protocol().map(<[u8]>::to_vec)))
}

#[tokio::test]
async fn sni_then_alpn_choose_the_context() {
    let ca = ca();
    let a = leaf(&ca, "a", "a.test", 30);
    let b_h2 = leaf(&ca, "b-h2", "b.test", 30);
    let b_h1 = leaf(&ca, "b-h1", "b.test", 30);
    let resumption = mosn_tls::ServerResumption::new().unwrap();
    let server = Arc::new(
        ServerTls::build(
            &[
                server_ctx(&a, &["http/1.1"]),
                server_ctx(&b_h2, &["h2"]),
                server_ctx(&b_h1, &["http/1.1"]),
            ],
            &resumption,
        )
        .unwrap(),
    );
    let got = handshake(
        server.clone(),
        &client_ctx(&ca, "b.test", &["h2", "http/1.1"], &[]),
    )
    .await
    .unwrap();
    assert_eq!(
        got,
        (Some("spiffe://test/b-h2".into()), Some(b"h2".to_vec()))
    );
    let got = handshake(
        server.clone(),
        &client_ctx(&ca, "b.test", &["http/1.1"], &[]),
    )
    .await
    .unwrap();
    assert_eq!(got.0.as_deref(), Some("spiffe://test/b-h1"));
    let got = handshake(server.clone(), &client_ctx(&ca, "a.test", &[], &[]))
        .await
        .unwrap();
    assert_eq!(got, (Some("spiffe://test/a".into()), None));
    let days = server.days_until_first_cert_expiring().unwrap();
    assert!((29..=30).contains(&days), "{days}");
}

#[tokio::test]
async fn spiffe_ids_replace_the_name_check_and_refuse_others() {
    let ca = ca();
    let web = leaf(&ca, "web", "web.test", 30);
    let resumption = mosn_tls::ServerResumption::new().unwrap();
    let server = Arc::new(ServerTls::build(&[server_ctx(&web, &[])], &resumption).unwrap());
    // The name does not match the certificate, the identity does.
    let ok = handshake(
        server.clone(),
        &client_ctx(&ca, "10-0-0-1.pod", &[], &["spiffe://test/web"]),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
    let refused = handshake(
        server.clone(),
        &client_ctx(&ca, "web.test", &[], &["spiffe://test/db"]),
    )
    .await;
    assert!(refused.is_err());
    let no_ids_wrong_name =
        handshake(server.clone(), &client_ctx(&ca, "other.test", &[], &[])).await;
    assert!(no_ids_wrong_name.is_err());
    // insecure_skip: no CA, wrong name, still connects (and still checks SPIFFE IDs).
    let insecure = TlsContextConfig {
        server_name: Some("other.test".into()),
        insecure_skip: true,
        ..Default::default()
    };
    assert!(handshake(server.clone(), &insecure).await.is_ok());
    let insecure_wrong_id = TlsContextConfig {
        spiffe_ids: vec!["spiffe://test/db".into()],
        ..insecure
    };
    assert!(handshake(server, &insecure_wrong_id).await.is_err());
}

#[tokio::test]
async fn changed_files_are_served_to_new_handshakes_and_a_broken_pair_is_not() {
    let ca = ca();
    let (old, new) = (
        leaf(&ca, "old", "svc.test", 30),
        leaf(&ca, "new", "svc.test", 10),
    );
    let dir = std::env::temp_dir().join(format!("mosn-tls-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &old.0).unwrap();
    std::fs::write(&key, &old.1).unwrap();
    let ctx = TlsContextConfig {
        cert_chain: Some(PemSource::File(cert.clone())),
        private_key: Some(PemSource::File(key.clone())),
        ..Default::default()
    };
    let tls = listener_tls("l", vec![ctx]).unwrap();
    let identity = tls.id();
    let client = client_ctx(&ca, "svc.test", &[], &[]);
    let id = |r: std::io::Result<(Option<String>, Option<Vec<u8>>)>| r.unwrap().0.unwrap();
    assert_eq!(
        id(handshake(tls.load(), &client).await),
        "spiffe://test/old"
    );
    assert!(!tls.poll(), "nothing changed");

    // The new key next to the old certificate: refused, the old pair keeps serving.
    std::fs::write(&key, &new.1).unwrap();
    assert!(!tls.poll());
    assert_eq!(
        id(handshake(tls.load(), &client).await),
        "spiffe://test/old"
    );

    std::fs::write(&cert, &new.0).unwrap();
    assert!(tls.poll(), "the completed pair is loaded");
    // Same configured identity: upstream pools keep keying its connections the same.
    assert_eq!(tls.id(), identity, "a hot swap keeps the context's id");
    assert_eq!(
        id(handshake(tls.load(), &client).await),
        "spiffe://test/new"
    );
    let days = tls.load().days_until_first_cert_expiring().unwrap();
    assert!((9..=10).contains(&days), "{days}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of the shared GM test data (SM2 CA, server and client certificates).
fn gm(name: &str) -> PemSource {
    PemSource::File(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/gmtls/certs")
            .join(name),
    )
}

fn sm_ctx(suites: &[&str]) -> TlsContextConfig {
    TlsContextConfig {
        cipher_suites: suites.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn shangmi_suites_handshake_with_sm2_certificates() {
    let server_cfg = |suites: &[&str]| TlsContextConfig {
        cert_chain: Some(gm("server_sign.crt")),
        private_key: Some(gm("server_sign.key")),
        ..sm_ctx(suites)
    };
    let resumption = mosn_tls::ServerResumption::new().unwrap();
    let both = ["TLS_SM4_GCM_SM3", "TLS_SM4_CCM_SM3"];
    let server = Arc::new(ServerTls::build(&[server_cfg(&both)], &resumption).unwrap());
    for suite in both {
        let client = TlsContextConfig {
            server_name: Some("localhost".into()),
            ca_cert: Some(gm("ca.crt")),
            ..sm_ctx(&[suite])
        };
        handshake(server.clone(), &client).await.unwrap();
    }
    // A client without the ShangMi suites, and one that trusts another CA, are refused.
    let plain = TlsContextConfig {
        server_name: Some("localhost".into()),
        ca_cert: Some(gm("ca.crt")),
        ..Default::default()
    };
    assert!(handshake(server.clone(), &plain).await.is_err());
    let wrong_ca = TlsContextConfig {
        server_name: Some("localhost".into()),
        ca_cert: Some(gm("client_sign.crt")),
        ..sm_ctx(&["TLS_SM4_GCM_SM3"])
    };
    assert!(handshake(server, &wrong_ca).await.is_err());
    // Mutual TLS with SM2 client certificates.
    let mtls = TlsContextConfig {
        ca_cert: Some(gm("ca.crt")),
        verify_client: true,
        require_client_cert: true,
        ..server_cfg(&both)
    };
    let server = Arc::new(ServerTls::build(&[mtls], &resumption).unwrap());
    let client = TlsContextConfig {
        server_name: Some("localhost".into()),
        ca_cert: Some(gm("ca.crt")),
        ..sm_ctx(&["TLS_SM4_GCM_SM3"])
    };
    assert!(handshake(server.clone(), &client).await.is_err());
    let with_cert = TlsContextConfig {
        cert_chain: Some(gm("client_sign.crt")),
        private_key: Some(gm("client_sign.key")),
        ..client
    };
    handshake(server, &with_cert).await.unwrap();
    // An SM2 key without the ShangMi suites is a config error about the key.
    let err = mosn_tls::check_server_context(&server_cfg(&[])).unwrap_err();
    assert_eq!(err.key, "private_key");
    assert!(err.message.contains("TLS_SM4_GCM_SM3"), "{}", err.message);
}

#[tokio::test]
async fn one_port_serves_shangmi_and_international_clients_by_their_suites() {
    let ca = ca();
    let international = leaf(&ca, "intl", "localhost", 30);
    let shangmi = TlsContextConfig {
        cert_chain: Some(gm("server_sign.crt")),
        private_key: Some(gm("server_sign.key")),
        ..sm_ctx(&["TLS_SM4_GCM_SM3"])
    };
    let resumption = mosn_tls::ServerResumption::new().unwrap();
    // The ShangMi context second: SNI alone would hand every client the first.
    let server = Arc::new(
        ServerTls::build(&[server_ctx(&international, &[]), shangmi], &resumption).unwrap(),
    );
    let sm_client = TlsContextConfig {
        server_name: Some("localhost".into()),
        ca_cert: Some(gm("ca.crt")),
        ..sm_ctx(&["TLS_SM4_GCM_SM3"])
    };
    assert_eq!(
        handshake(server.clone(), &sm_client).await.unwrap(),
        (None, None)
    );
    let got = handshake(server, &client_ctx(&ca, "localhost", &[], &[]))
        .await
        .unwrap();
    assert_eq!(got.0.as_deref(), Some("spiffe://test/intl"));
}
