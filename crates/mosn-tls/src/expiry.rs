//! Certificate expiry, for the `ssl_days_until_first_cert_expiring` gauges.

use rustls::pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The earliest `notAfter` of `certs`, in seconds since the Unix epoch; `None` when no
/// certificate parses.
pub fn first_not_after<'a>(certs: impl IntoIterator<Item = &'a CertificateDer<'a>>) -> Option<i64> {
    certs
        .into_iter()
        .filter_map(|der| {
            let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
            Some(cert.validity().not_after.timestamp())
        })
        .min()
}

/// Whole days from now until `not_after` (negative once passed).
pub fn days_until(not_after: i64) -> i64 {
    let now = i64::try_from(UnixTime::now().as_secs()).unwrap_or(i64::MAX);
    (not_after - now).div_euclid(86_400)
}
