//! Request-target forms (RFC 9112 §3.2): validation, allocation-free
//! splitting into authority / path / query, and path rewriting.

use bytes::{BufMut, Bytes, BytesMut};
use http::Method;

use super::ParseError;

/// A request-target split into its parts; every field borrows the target.
pub(crate) struct Parts<'a> {
    /// Authority of absolute-form (`http://host:80/p` → `host:80`) or the whole
    /// authority-form target (`CONNECT host:443`).
    pub authority: Option<&'a str>,
    /// Path without the query; `/` for an absolute-form target with no path,
    /// `*` for asterisk-form, empty for authority-form.
    pub path: &'a str,
    /// Query without the `?`.
    pub query: Option<&'a str>,
    /// Length of the `scheme://authority` prefix of absolute-form (0 otherwise).
    pub prefix_len: usize,
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.find('?') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'+' || c == b'-' || c == b'.')
}

/// Splits a request-target without allocating.
pub(crate) fn split(t: &str) -> Parts<'_> {
    if t.starts_with('/') {
        let (path, query) = split_query(t);
        return Parts {
            authority: None,
            path,
            query,
            prefix_len: 0,
        };
    }
    if t == "*" {
        return Parts {
            authority: None,
            path: "*",
            query: None,
            prefix_len: 0,
        };
    }
    if let Some(i) = t.find("://") {
        if is_scheme(&t[..i]) {
            let rest = &t[i + 3..];
            let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
            let (path, query) = split_query(&rest[auth_end..]);
            return Parts {
                authority: Some(&rest[..auth_end]),
                path: if path.is_empty() { "/" } else { path },
                query,
                prefix_len: i + 3 + auth_end,
            };
        }
    }
    Parts {
        authority: Some(t),
        path: "",
        query: None,
        prefix_len: 0,
    }
}

/// Bytes allowed in a host (reg-name, IP literal, port) as we accept it.
/// Userinfo (`@`) is deliberately refused.
pub(crate) fn is_valid_authority(b: &[u8]) -> bool {
    b.iter().all(|&c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
                    | b'%'
            )
    })
}

/// Validates a request-target against the method (RFC 9112 §3.2).
pub(crate) fn validate(method: &Method, t: &str) -> Result<(), ParseError> {
    if t.is_empty() {
        return Err(ParseError::Malformed("empty request-target"));
    }
    if t.contains('#') {
        return Err(ParseError::Malformed("fragment in request-target"));
    }
    if method == Method::CONNECT {
        // authority-form = uri-host ":" port
        let ok = match t.rsplit_once(':') {
            Some((host, port)) => {
                !host.is_empty()
                    && !port.is_empty()
                    && port.bytes().all(|c| c.is_ascii_digit())
                    && is_valid_authority(host.as_bytes())
            }
            None => false,
        };
        return if ok {
            Ok(())
        } else {
            Err(ParseError::Malformed("invalid CONNECT request-target"))
        };
    }
    if t.starts_with('/') {
        return Ok(());
    }
    if t == "*" {
        return if method == Method::OPTIONS {
            Ok(())
        } else {
            Err(ParseError::Malformed(
                "asterisk-form request-target without OPTIONS",
            ))
        };
    }
    match t.find("://") {
        Some(i) if is_scheme(&t[..i]) => {
            let parts = split(t);
            match parts.authority {
                Some(a) if !a.is_empty() && is_valid_authority(a.as_bytes()) => Ok(()),
                _ => Err(ParseError::Malformed("invalid authority in request-target")),
            }
        }
        _ => Err(ParseError::Malformed("invalid request-target")),
    }
}

/// Whether `c` may appear unescaped in a path or query we emit.
fn is_safe_target_byte(c: u8) -> bool {
    (0x21..=0x7e).contains(&c) && c != b'#'
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `s` percent-encoding any byte that may not appear in a
/// request-target (controls, space, `#`, non-ASCII).
pub(crate) fn put_escaped(out: &mut BytesMut, s: &[u8]) {
    if s.iter().all(|&c| is_safe_target_byte(c)) {
        out.extend_from_slice(s);
        return;
    }
    for &c in s {
        if is_safe_target_byte(c) {
            out.put_u8(c);
        } else {
            out.put_u8(b'%');
            out.put_u8(HEX_UPPER[(c >> 4) as usize]);
            out.put_u8(HEX_UPPER[(c & 0xf) as usize]);
        }
    }
}

/// Builds a new target: keeps the `scheme://authority` prefix of
/// absolute-form, replaces the path, and keeps the old query unless
/// `new_path` carries its own `?query`.
pub(crate) fn with_path(old: &str, new_path: &str) -> Bytes {
    let parts = split(old);
    let prefix = if parts.prefix_len > 0 {
        &old[..parts.prefix_len]
    } else {
        ""
    };
    let keep_query = if new_path.contains('?') {
        None
    } else {
        parts.query
    };
    let mut out = BytesMut::with_capacity(
        prefix.len() + new_path.len() + 1 + keep_query.map_or(0, |q| q.len() + 1),
    );
    out.extend_from_slice(prefix.as_bytes());
    if !new_path.starts_with('/') {
        out.put_u8(b'/');
    }
    put_escaped(&mut out, new_path.as_bytes());
    if let Some(q) = keep_query {
        out.put_u8(b'?');
        put_escaped(&mut out, q.as_bytes());
    }
    out.freeze()
}
