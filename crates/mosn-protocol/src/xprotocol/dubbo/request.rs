//! The routing facts of a Dubbo request body (hessian2): framework version, service path,
//! service version, method, parameter types, then the arguments (skipped) and the
//! attachments.

use crate::xprotocol::hessian2::{HessianError, Reader};
use crate::xprotocol::RpcHeaders;

/// Header names MOSN's Dubbo codec exposes to routing.
pub mod names {
    /// The Dubbo framework version the client speaks.
    pub const DUBBO_VERSION: &str = "dubbo";
    /// The service (interface) path.
    pub const SERVICE: &str = "service";
    /// The service version.
    pub const VERSION: &str = "version";
    /// The method called.
    pub const METHOD: &str = "method";
    /// The JVM descriptor of the parameter types (`Ljava/lang/String;I`).
    pub const PARAMETER_TYPES: &str = "parameter_types";
}

/// Reads the routing headers of a request body; attachments never override the fixed
/// fields (dubbo-remoting sends `service` = `path:version` as an attachment too).
/// On a body this reader cannot follow, the headers read so far are kept.
pub(super) fn request_headers(body: &[u8]) -> RpcHeaders {
    let mut headers = RpcHeaders::default();
    if let Err(e) = read_into(body, &mut headers) {
        tracing::debug!(error = %e, "dubbo request body only partly read for routing");
    }
    headers
}

fn read_into(body: &[u8], headers: &mut RpcHeaders) -> Result<(), HessianError> {
    let mut r = Reader::new(body);
    for name in [
        names::DUBBO_VERSION,
        names::SERVICE,
        names::VERSION,
        names::METHOD,
        names::PARAMETER_TYPES,
    ] {
        let value = r.read_string()?;
        headers.push(name, value);
    }
    let types = headers.get(names::PARAMETER_TYPES).unwrap_or_default();
    let Some(args) = parameter_count(types) else {
        return Err(HessianError::Unexpected(b'L'));
    };
    for _ in 0..args {
        r.skip()?;
    }
    if r.is_empty() {
        return Ok(());
    }
    for (k, v) in r.read_string_map()? {
        headers.push(k, v);
    }
    Ok(())
}

/// How many parameters a JVM method descriptor lists (`Ljava/lang/String;II` → 3).
fn parameter_count(desc: &str) -> Option<usize> {
    let mut n = 0;
    let mut chars = desc.chars();
    while let Some(c) = chars.next() {
        match c {
            '[' => continue,
            'L' => {
                chars.find(|&c| c == ';')?;
            }
            'Z' | 'B' | 'C' | 'S' | 'I' | 'J' | 'F' | 'D' => {}
            _ => return None,
        }
        n += 1;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::parameter_count;

    #[test]
    fn counts_parameters_of_descriptors() {
        assert_eq!(parameter_count(""), Some(0));
        assert_eq!(parameter_count("II"), Some(2));
        assert_eq!(
            parameter_count("Ljava/lang/String;[I[[Ljava/util/Map;J"),
            Some(4)
        );
        assert_eq!(parameter_count("Ljava/lang/String"), None);
        assert_eq!(parameter_count("Q"), None);
    }
}
