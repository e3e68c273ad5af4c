//! A TLCP load client in the manner of OpenSSL's `s_time -new`, which Tongsuo's
//! `s_time` cannot be (it has no TLCP): connections one after another for `-time`
//! seconds, each a full handshake then `GET <-www path> HTTP/1.0` read to the close.
//! Prints s_time's summary line, so the benchmark reads both the same way.
//!
//! `tlcp_time -connect HOST:PORT -cipher NAME -CAfile CA.PEM -www PATH -time SECS
//!  [-servername NAME] [-sign SIGN.CRT SIGN.KEY -enc ENC.CRT ENC.KEY]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use tlcp::{CertifiedKey, CipherSuite, ClientConfig, RootCerts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn usage(problem: &str) -> ! {
    eprintln!("tlcp_time: {problem}");
    eprintln!(
        "usage: tlcp_time -connect HOST:PORT -cipher NAME -CAfile CA.PEM -www PATH -time SECS \
         [-servername NAME] [-sign CRT KEY -enc CRT KEY]"
    );
    std::process::exit(2)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| usage(&format!("cannot read {path}: {e}")))
}

fn pair(crt: &str, key: &str) -> CertifiedKey {
    CertifiedKey::from_pem(&read(crt), &read(key)).unwrap_or_else(|e| usage(&e.to_string()))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str, n: usize| -> Option<&str> {
        let at = args.iter().position(|a| a == flag)?;
        Some(
            args.get(at + n)
                .map(String::as_str)
                .unwrap_or_else(|| usage(&format!("{flag} needs a value"))),
        )
    };
    let need = |flag: &str| value(flag, 1).unwrap_or_else(|| usage(&format!("{flag} is required")));
    let addr = need("-connect").to_owned();
    let suite = CipherSuite::from_name(need("-cipher")).unwrap_or_else(|| usage("unknown -cipher"));
    let roots =
        RootCerts::from_pem(&read(need("-CAfile"))).unwrap_or_else(|e| usage(&e.to_string()));
    let path = need("-www").to_owned();
    let secs: f64 = need("-time")
        .parse()
        .unwrap_or_else(|_| usage("-time takes seconds"));
    let name = value("-servername", 1).unwrap_or("localhost").to_owned();
    let mut config = ClientConfig::new(Some(roots), vec![suite]);
    if let (Some(sc), Some(sk), Some(ec), Some(ek)) = (
        value("-sign", 1),
        value("-sign", 2),
        value("-enc", 1),
        value("-enc", 2),
    ) {
        config = config
            .with_client_certs(pair(sc, sk), pair(ec, ek))
            .unwrap_or_else(|e| usage(&e.to_string()));
    }
    let config = Arc::new(config);
    let request = format!("GET {path} HTTP/1.0\r\n\r\n");
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let (mut conns, mut bytes, mut failures) = (0u64, 0u64, 0u64);
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let result = async {
            let tcp = TcpStream::connect(&addr).await?;
            tcp.set_nodelay(true)?;
            let mut tls = tlcp::connect(config.clone(), Some(&name), tcp).await?;
            tls.write_all(request.as_bytes()).await?;
            tls.flush().await?;
            let mut got = 0u64;
            loop {
                match tls.read(&mut buf).await? {
                    0 => break,
                    n => got += n as u64,
                }
            }
            Ok::<u64, std::io::Error>(got)
        }
        .await;
        match result {
            Ok(n) => {
                conns += 1;
                bytes += n;
            }
            Err(e) => {
                failures += 1;
                eprintln!("connection failed: {e}");
                if failures > 10 {
                    break;
                }
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{conns} connections in {elapsed:.2}s; {:.2} connections/user sec, bytes read {bytes}",
        conns as f64 / elapsed
    );
    if failures > 0 {
        std::process::exit(1);
    }
}
