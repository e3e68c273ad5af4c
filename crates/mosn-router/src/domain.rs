//! Virtual host selection by the request's host, with Envoy/MOSN wildcard rules.

use mosn_config::HostPortMatching;
use std::collections::HashMap;

/// Maps a request host to a virtual host index: exact names first, then the longest
/// suffix wildcard (`*.example.com`), then the longest prefix wildcard (`example.*`),
/// then the catch-all `*`. A port in the host counts as `host_port` says.
#[derive(Debug, Default)]
pub(crate) struct DomainIndex {
    host_port: HostPortMatching,
    exact: HashMap<String, usize>,
    /// `(suffix, vhost)`, longest suffix first; `*.a.com` is stored as `.a.com`.
    suffixes: Vec<(String, usize)>,
    /// `(prefix, vhost)`, longest prefix first; `a.*` is stored as `a.`.
    prefixes: Vec<(String, usize)>,
    default: Option<usize>,
}

impl DomainIndex {
    pub(crate) fn new(host_port: HostPortMatching) -> Self {
        Self {
            host_port,
            ..Self::default()
        }
    }

    /// Adds one domain pattern (already validated and lower-cased by the config layer).
    pub(crate) fn insert(&mut self, domain: &str, vhost: usize) {
        if domain == "*" {
            self.default.get_or_insert(vhost);
        } else if let Some(suffix) = domain.strip_prefix('*') {
            self.suffixes.push((suffix.to_string(), vhost));
            self.suffixes
                .sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        } else if let Some(prefix) = domain.strip_suffix('*') {
            self.prefixes.push((prefix.to_string(), vhost));
            self.prefixes
                .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        } else {
            self.exact.entry(domain.to_string()).or_insert(vhost);
        }
    }

    /// The virtual host for `host` (as sent, any case, maybe with a port).
    pub(crate) fn find(&self, host: &str) -> Option<usize> {
        if self.exact.is_empty() && self.suffixes.is_empty() && self.prefixes.is_empty() {
            return self.default;
        }
        let host = host.to_ascii_lowercase();
        let name = match self.host_port {
            // A domain may be configured with its port (`a.com:8080`); otherwise the
            // port is not part of the name.
            HostPortMatching::Lenient => {
                if let Some(&v) = self.exact.get(&host) {
                    return Some(v);
                }
                strip_port(&host).unwrap_or(&host)
            }
            HostPortMatching::Exact => &host,
            HostPortMatching::Ignored => strip_port(&host).unwrap_or(&host),
        };
        self.find_lowercase(name).or(self.default)
    }

    fn find_lowercase(&self, host: &str) -> Option<usize> {
        if let Some(&v) = self.exact.get(host) {
            return Some(v);
        }
        // A wildcard must match at least one character, as in Envoy.
        let longer = |len: usize| host.len() > len;
        self.suffixes
            .iter()
            .find(|(s, _)| longer(s.len()) && host.ends_with(s.as_str()))
            .or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(p, _)| longer(p.len()) && host.starts_with(p.as_str()))
            })
            .map(|&(_, v)| v)
    }
}

/// `host:port` → `host`; `[v6]:port` → `[v6]`; `None` when there is no port.
fn strip_port(host: &str) -> Option<&str> {
    let colon = host.rfind(':')?;
    if host.starts_with('[') && !host[..colon].ends_with(']') {
        return None;
    }
    host[colon + 1..]
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| &host[..colon])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(domains: &[(&str, usize)]) -> DomainIndex {
        index_with(HostPortMatching::Lenient, domains)
    }

    fn index_with(host_port: HostPortMatching, domains: &[(&str, usize)]) -> DomainIndex {
        let mut idx = DomainIndex::new(host_port);
        for (d, v) in domains {
            idx.insert(d, *v);
        }
        idx
    }

    #[test]
    fn exact_beats_wildcards_and_default() {
        let idx = index(&[("*", 0), ("*.a.com", 1), ("www.a.com", 2), ("www.*", 3)]);
        assert_eq!(idx.find("www.a.com"), Some(2));
        assert_eq!(idx.find("WWW.A.COM:8080"), Some(2));
        assert_eq!(idx.find("api.a.com"), Some(1));
        assert_eq!(idx.find("www.b.org"), Some(3));
        assert_eq!(idx.find("other"), Some(0));
    }

    #[test]
    fn longest_suffix_wins_and_wildcard_needs_a_character() {
        let idx = index(&[("*.com", 0), ("*.a.com", 1)]);
        assert_eq!(idx.find("x.a.com"), Some(1));
        assert_eq!(idx.find("x.b.com"), Some(0));
        assert_eq!(idx.find(".a.com"), Some(0));
        assert_eq!(idx.find("com"), None);
    }

    /// Envoy's default: `a.com:8080` is a name of its own, which only a domain naming
    /// the port, a prefix wildcard or `*` matches; with `ignore_port_in_host_matching`
    /// the port goes first, and a domain naming one never matches.
    #[test]
    fn envoy_matches_the_port_as_part_of_the_name_unless_told_to_ignore_it() {
        let domains = [
            ("a.com", 0),
            ("*.b.com", 1),
            ("c.com:8080", 2),
            ("*", 3),
            ("d.*", 4),
        ];
        let exact = index_with(HostPortMatching::Exact, &domains);
        assert_eq!(exact.find("a.com"), Some(0));
        assert_eq!(exact.find("A.com:8080"), Some(3));
        assert_eq!(exact.find("x.b.com:9"), Some(3));
        assert_eq!(exact.find("c.com:8080"), Some(2));
        assert_eq!(exact.find("c.com"), Some(3));
        assert_eq!(exact.find("d.com:80"), Some(4));
        let ignored = index_with(HostPortMatching::Ignored, &domains);
        assert_eq!(ignored.find("a.com:8080"), Some(0));
        assert_eq!(ignored.find("x.b.com:9"), Some(1));
        assert_eq!(ignored.find("c.com:8080"), Some(3));
        let lenient = index(&domains);
        assert_eq!(lenient.find("a.com:8080"), Some(0));
        assert_eq!(lenient.find("c.com:8080"), Some(2));
    }

    #[test]
    fn ports_are_stripped_only_when_numeric() {
        assert_eq!(strip_port("a.com:80"), Some("a.com"));
        assert_eq!(strip_port("[::1]:80"), Some("[::1]"));
        assert_eq!(strip_port("[::1]"), None);
        assert_eq!(strip_port("a.com"), None);
    }
}
