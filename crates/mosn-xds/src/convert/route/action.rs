//! A route's action: `route` (forward), `redirect` and `direct_response`.
//!
//! Envoy's defaults written out: a 15s `timeout` when none is given, `timeout: 0s` as a
//! timeout that never fires, no retries without a policy. Everything else the model has
//! no field for is refused by name.

use super::super::endpoint::string_labels;
use super::super::{duration, refuse_leftover, ConvertError, Result};
use super::re2::unanchored;
use super::retry::{no_retries, retry_policy};
use envoy_types::pb::envoy::config::core::v3::data_source::Specifier;
use envoy_types::pb::envoy::config::core::v3::{DataSource, Metadata as EnvoyMetadata};
use envoy_types::pb::envoy::config::route::v3::redirect_action::{
    PathRewriteSpecifier, RedirectResponseCode, SchemeRewriteSpecifier,
};
use envoy_types::pb::envoy::config::route::v3::route_action::hash_policy::PolicySpecifier;
use envoy_types::pb::envoy::config::route::v3::route_action::{
    ClusterSpecifier, HashPolicy as EnvoyHashPolicy, HostRewriteSpecifier, MaxStreamDuration,
};
use envoy_types::pb::envoy::config::route::v3::{
    DirectResponseAction, RedirectAction as EnvoyRedirect, RouteAction,
    WeightedCluster as EnvoyWeighted,
};
use envoy_types::pb::envoy::r#type::matcher::v3::RegexMatchAndSubstitute;
use mosn_config::model::{
    ClusterTarget, ForwardAction, HashPolicy, HeaderEdits, Metadata, PathMatch, RedirectAction,
    RegexRewrite, RetryPolicy, WeightedCluster,
};
use std::time::Duration;

/// Envoy's route timeout when the route gives none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Envoy's `0s`, no timeout. The model's `None` is MOSN's 60s default and it has no
/// "never", so a timeout no request outlives stands for it (longer ones are cut to it).
pub(super) const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Envoy's default `max_direct_response_body_size_bytes`.
pub(super) const DIRECT_BODY_LIMIT: u32 = 4096;

/// The subset-load-balancing key of `metadata_match`; Envoy ignores the others.
const LB_METADATA: &str = "envoy.lb";

/// Converts `route`. `path` is the route's converted path criterion (`prefix_rewrite`
/// depends on it); `headers` are the route's own header edits; `vhost_retry` is its
/// virtual host's retry policy, for a route without one of its own.
pub(super) fn forward(
    mut a: RouteAction,
    path: &PathMatch,
    headers: HeaderEdits,
    vhost_retry: Option<&RetryPolicy>,
) -> Result<ForwardAction> {
    let target = target(a.cluster_specifier.take())?;
    let timeout = route_timeout(a.timeout.take())?;
    grpc_timeout_caps(&mut a, timeout == NO_TIMEOUT)?;
    let prefix_rewrite = prefix_rewrite(std::mem::take(&mut a.prefix_rewrite), path)?;
    let regex_rewrite = match a.regex_rewrite.take() {
        Some(_) if prefix_rewrite.is_some() => {
            return Err(ConvertError::new(
                "regex_rewrite",
                "prefix_rewrite and regex_rewrite must not both be set (Envoy refuses it too)",
            ))
        }
        Some(r) => Some(Box::new(
            regex_rewrite(r).map_err(|e| e.within("regex_rewrite"))?,
        )),
        None => None,
    };
    let (host_rewrite, host_rewrite_header) = host_rewrite(a.host_rewrite_specifier.take())?;
    let hash_policy = hash_policies(std::mem::take(&mut a.hash_policy))?;
    let retry_policy = match a.retry_policy.take() {
        Some(p) => retry_policy(p).map_err(|e| e.within("retry_policy"))?,
        None => vhost_retry.cloned().unwrap_or_else(no_retries),
    };
    let metadata_match = match a.metadata_match.take() {
        Some(m) => metadata_match(m).map_err(|e| e.within("metadata_match"))?,
        None => Metadata::default(),
    };
    refuse_leftover(&a, "")?;
    Ok(ForwardAction {
        target,
        timeout: Some(timeout),
        prefix_rewrite,
        regex_rewrite,
        host_rewrite,
        host_rewrite_header,
        headers,
        hash_policy,
        retry_policy: Some(retry_policy),
        upstream_protocol: None,
        metadata_match,
    })
}

fn target(spec: Option<ClusterSpecifier>) -> Result<ClusterTarget> {
    match spec {
        Some(ClusterSpecifier::Cluster(name)) if name.is_empty() => {
            Err(ConvertError::new("cluster", "must not be empty"))
        }
        Some(ClusterSpecifier::Cluster(name)) => Ok(ClusterTarget::Single(name)),
        Some(ClusterSpecifier::WeightedClusters(w)) => {
            weighted(w).map_err(|e| e.within("weighted_clusters"))
        }
        Some(ClusterSpecifier::ClusterHeader(_)) => Err(ConvertError::unsupported(
            "cluster_header",
            "choosing the cluster by a request header",
        )),
        Some(ClusterSpecifier::ClusterSpecifierPlugin(_)) => Err(ConvertError::unsupported(
            "cluster_specifier_plugin",
            "cluster specifier plugins",
        )),
        Some(ClusterSpecifier::InlineClusterSpecifierPlugin(_)) => Err(ConvertError::unsupported(
            "inline_cluster_specifier_plugin",
            "cluster specifier plugins",
        )),
        None => Err(ConvertError::new(
            "",
            "a route needs cluster or weighted_clusters",
        )),
    }
}

/// `weighted_clusters`: names and weights only (per-cluster header edits, metadata and
/// host rewrites have no place in the model). `total_weight`, when set, must be the sum,
/// as Envoy requires.
#[allow(deprecated)] // `total_weight`: deprecated, still honoured by Envoy.
fn weighted(mut w: EnvoyWeighted) -> Result<ClusterTarget> {
    let mut clusters = Vec::with_capacity(w.clusters.len());
    for (i, mut c) in std::mem::take(&mut w.clusters).into_iter().enumerate() {
        let at = |e: ConvertError| e.within(format!("clusters[{i}]"));
        if c.name.is_empty() {
            return Err(at(ConvertError::new("name", "must not be empty")));
        }
        let name = std::mem::take(&mut c.name);
        let weight = c.weight.take().map_or(0, |w| w.value);
        refuse_leftover(&c, "").map_err(at)?;
        clusters.push(WeightedCluster { name, weight });
    }
    if clusters.is_empty() {
        return Err(ConvertError::new("clusters", "must not be empty"));
    }
    let sum: u64 = clusters.iter().map(|c| u64::from(c.weight)).sum();
    if let Some(total) = w.total_weight.take().filter(|t| t.value > 0) {
        if sum != u64::from(total.value) {
            return Err(ConvertError::new(
                "total_weight",
                format!("the weights add up to {sum}, not {}", total.value),
            ));
        }
    }
    refuse_leftover(&w, "")?;
    Ok(ClusterTarget::Weighted(clusters))
}

fn route_timeout(t: Option<envoy_types::pb::google::protobuf::Duration>) -> Result<Duration> {
    let Some(t) = t else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let t = duration(&t, "timeout")?;
    Ok(if t.is_zero() {
        NO_TIMEOUT
    } else {
        t.min(NO_TIMEOUT)
    })
}

/// `max_grpc_timeout` and `max_stream_duration`. With a cap on `grpc-timeout` set, Envoy
/// times gRPC requests by their `grpc-timeout` alone (none without one), capped; mosn
/// always bounds a gRPC request by both `grpc-timeout` and the route timeout. The two
/// agree only with no cap (`0s`) and no route timeout. A stream duration limit of `0s`
/// is none, which is mosn's behaviour.
#[allow(deprecated)] // `max_grpc_timeout`: Istio still sends it.
fn grpc_timeout_caps(a: &mut RouteAction, no_route_timeout: bool) -> Result<()> {
    let mut caps = vec![("max_grpc_timeout".to_owned(), a.max_grpc_timeout.take())];
    if let Some(m) = a.max_stream_duration.take() {
        caps.push((
            "max_stream_duration.grpc_timeout_header_max".to_owned(),
            stream_duration(m).map_err(|e| e.within("max_stream_duration"))?,
        ));
    }
    for (field, cap) in caps {
        let Some(cap) = cap else { continue };
        if !duration(&cap, &field)?.is_zero() {
            return Err(ConvertError::unsupported(field, "capping grpc-timeout"));
        }
        if !no_route_timeout {
            return Err(ConvertError::unsupported(
                field,
                "grpc-timeout replacing a route timeout (mosn applies the shorter of both)",
            ));
        }
    }
    Ok(())
}

/// `max_stream_duration`: only `0s` (no limit); returns its `grpc_timeout_header_max`.
fn stream_duration(
    mut m: MaxStreamDuration,
) -> Result<Option<envoy_types::pb::google::protobuf::Duration>> {
    if let Some(d) = m.max_stream_duration.take() {
        if !duration(&d, "max_stream_duration")?.is_zero() {
            return Err(ConvertError::unsupported(
                "max_stream_duration",
                "a limit on stream duration",
            ));
        }
    }
    let cap = m.grpc_timeout_header_max.take();
    refuse_leftover(&m, "")?;
    Ok(cap)
}

/// `prefix_rewrite`: the model replaces what Envoy replaces — an exact path whole, a
/// prefix (case-insensitive or separated too) by its length, and after a `safe_regex`
/// the whole path.
fn prefix_rewrite(rewrite: String, path: &PathMatch) -> Result<Option<String>> {
    if rewrite.is_empty() {
        return Ok(None);
    }
    match path {
        PathMatch::Any => Err(ConvertError::unsupported(
            "prefix_rewrite",
            "prefix_rewrite without a path criterion",
        )),
        _ => Ok(Some(rewrite)),
    }
}

/// `regex_rewrite`: RE2's `GlobalReplace` on the path, as a model regex and a
/// replacement in the `regex` crate's syntax.
fn regex_rewrite(mut r: RegexMatchAndSubstitute) -> Result<RegexRewrite> {
    let pattern = r
        .pattern
        .take()
        .ok_or_else(|| ConvertError::new("pattern", "is required"))?;
    let pattern = unanchored(&pattern).map_err(|e| e.within("pattern"))?;
    let substitution = re2_substitution(&std::mem::take(&mut r.substitution), &pattern)
        .map_err(|reason| ConvertError::new("substitution", reason))?;
    refuse_leftover(&r, "")?;
    Ok(RegexRewrite {
        pattern,
        substitution,
    })
}

/// An RE2 rewrite string (`\1` for a group, `\\` for a backslash, anything else
/// literal) in the `regex` crate's syntax (`${1}`, `$$` for a dollar). RE2 refuses, and so
/// Envoy, another escape or a group the pattern does not have.
fn re2_substitution(s: &str, pattern: &regex::Regex) -> std::result::Result<String, String> {
    let groups = pattern.captures_len() - 1;
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let n = usize::from(d as u8 - b'0');
                    if n > groups {
                        return Err(format!(
                            "\\{n} names a group the pattern does not have ({groups})"
                        ));
                    }
                    out.push_str("${");
                    out.push(d);
                    out.push('}');
                }
                Some('\\') => out.push('\\'),
                _ => return Err("a backslash must be followed by a digit or a backslash".into()),
            },
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The host rewrite: a literal, or the request header to take the host from.
type HostRewrite = (Option<String>, Option<Box<str>>);

fn host_rewrite(spec: Option<HostRewriteSpecifier>) -> Result<HostRewrite> {
    match spec {
        None => Ok((None, None)),
        Some(HostRewriteSpecifier::HostRewriteLiteral(h)) => {
            Ok((Some(h).filter(|h| !h.is_empty()), None))
        }
        Some(HostRewriteSpecifier::HostRewriteHeader(h)) if h.is_empty() => Ok((None, None)),
        Some(HostRewriteSpecifier::HostRewriteHeader(h)) => {
            Ok((None, Some(h.to_ascii_lowercase().into_boxed_str())))
        }
        Some(HostRewriteSpecifier::AutoHostRewrite(b)) if !b.value => Ok((None, None)),
        Some(HostRewriteSpecifier::AutoHostRewrite(_)) => Err(ConvertError::unsupported(
            "auto_host_rewrite",
            "rewriting the host to the upstream host's name",
        )),
        Some(HostRewriteSpecifier::HostRewritePathRegex(_)) => Err(ConvertError::unsupported(
            "host_rewrite_path_regex",
            "rewriting the host from the path",
        )),
        Some(HostRewriteSpecifier::HostRewrite(_)) => Err(ConvertError::unsupported(
            "host_rewrite",
            "rewriting the host by a substitution format",
        )),
    }
}

/// `hash_policy`. Envoy combines the hashes of every policy that yields one, stopping
/// after a `terminal` one; the model takes the first that yields. They agree when every
/// policy but the last is terminal.
fn hash_policies(list: Vec<EnvoyHashPolicy>) -> Result<Vec<HashPolicy>> {
    let mut kept = Vec::with_capacity(list.len());
    for (i, p) in list.into_iter().enumerate() {
        let at = |e: ConvertError| e.within(format!("hash_policy[{i}]"));
        if let Some(policy) = hash_policy(p).map_err(at)? {
            kept.push((i, policy));
        }
    }
    let but_last = kept.split_last().map_or(&[][..], |(_, rest)| rest);
    if let Some(&(i, _)) = but_last.iter().find(|(_, (_, terminal))| !terminal) {
        return Err(ConvertError::unsupported(
            format!("hash_policy[{i}].terminal"),
            "combining the hashes of several policies (mark all but the last terminal)",
        ));
    }
    Ok(kept.into_iter().map(|(_, (policy, _))| policy).collect())
}

/// One policy and its `terminal` flag; `None` for one that never yields a hash
/// (`connection_properties` without `source_ip`).
fn hash_policy(mut p: EnvoyHashPolicy) -> Result<Option<(HashPolicy, bool)>> {
    let terminal = std::mem::take(&mut p.terminal);
    let policy = match p.policy_specifier.take() {
        Some(PolicySpecifier::Header(mut h)) => {
            let name = std::mem::take(&mut h.header_name).to_ascii_lowercase();
            refuse_leftover(&h, "header")?;
            Some(HashPolicy::Header(name))
        }
        Some(PolicySpecifier::Cookie(mut c)) => {
            let name = std::mem::take(&mut c.name);
            // Only used to generate a missing cookie, which needs `ttl` (refused).
            c.path.clear();
            c.attributes.clear();
            refuse_leftover(&c, "cookie")?;
            Some(HashPolicy::Cookie(name))
        }
        Some(PolicySpecifier::ConnectionProperties(c)) => {
            c.source_ip.then_some(HashPolicy::SourceIp)
        }
        Some(PolicySpecifier::QueryParameter(_)) => {
            return Err(ConvertError::unsupported(
                "query_parameter",
                "hashing a query parameter",
            ))
        }
        Some(PolicySpecifier::FilterState(_)) => {
            return Err(ConvertError::unsupported(
                "filter_state",
                "hashing filter state",
            ))
        }
        None => None,
    };
    Ok(policy.map(|p| (p, terminal)))
}

/// `metadata_match`: the string labels under `envoy.lb`.
fn metadata_match(mut m: EnvoyMetadata) -> Result<Metadata> {
    let labels = match m.filter_metadata.remove(LB_METADATA) {
        Some(s) => {
            string_labels(&s).map_err(|e| e.within(format!("filter_metadata.{LB_METADATA}")))?
        }
        None => Metadata::default(),
    };
    m.filter_metadata.clear();
    refuse_leftover(&m, "")?;
    Ok(labels)
}

/// `redirect`. mosn's redirects, as Envoy's, keep the request's scheme, host and query
/// unless given new ones (dropping the old scheme's default port from a kept host when
/// the scheme changes; a `path_redirect` with a query of its own, or `strip_query`,
/// drops the request's query).
pub(super) fn redirect(mut r: EnvoyRedirect) -> Result<RedirectAction> {
    let scheme_redirect = match r.scheme_rewrite_specifier.take() {
        Some(SchemeRewriteSpecifier::HttpsRedirect(true)) => Some("https".to_owned()),
        Some(SchemeRewriteSpecifier::SchemeRedirect(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let host_redirect = Some(std::mem::take(&mut r.host_redirect)).filter(|h| !h.is_empty());
    let strip_query = std::mem::take(&mut r.strip_query);
    let path_redirect = redirect_path(r.path_rewrite_specifier.take())?;
    let response_code = redirect_code(std::mem::take(&mut r.response_code))?;
    refuse_leftover(&r, "")?;
    Ok(RedirectAction {
        response_code,
        path_redirect,
        host_redirect,
        scheme_redirect,
        strip_query,
    })
}

fn redirect_path(spec: Option<PathRewriteSpecifier>) -> Result<Option<String>> {
    match spec {
        None => Ok(None),
        Some(PathRewriteSpecifier::PathRedirect(p)) => Ok(Some(if p.starts_with('/') {
            p
        } else {
            format!("/{p}")
        })),
        Some(PathRewriteSpecifier::PrefixRewrite(_)) => Err(ConvertError::unsupported(
            "prefix_rewrite",
            "redirecting with a rewritten prefix",
        )),
        Some(PathRewriteSpecifier::RegexRewrite(_)) => Err(ConvertError::unsupported(
            "regex_rewrite",
            "redirecting with a regex-rewritten path",
        )),
        Some(PathRewriteSpecifier::PathRewrite(_)) => Err(ConvertError::unsupported(
            "path_rewrite",
            "redirecting to a path built by a substitution format",
        )),
    }
}

fn redirect_code(code: i32) -> Result<u16> {
    match RedirectResponseCode::try_from(code) {
        Ok(RedirectResponseCode::MovedPermanently) => Ok(301),
        Ok(RedirectResponseCode::Found) => Ok(302),
        Ok(RedirectResponseCode::SeeOther) => Ok(303),
        Ok(RedirectResponseCode::TemporaryRedirect) => Ok(307),
        Ok(RedirectResponseCode::PermanentRedirect) => Ok(308),
        Err(_) => Err(ConvertError::new(
            "response_code",
            format!("unknown redirect response code {code}"),
        )),
    }
}

/// `direct_response`: a status and an inline body of at most `body_limit` bytes (Envoy
/// refuses larger ones too).
pub(super) fn direct_response(
    mut d: DirectResponseAction,
    body_limit: u32,
) -> Result<(u16, Option<String>)> {
    let status = u16::try_from(std::mem::take(&mut d.status))
        .ok()
        .filter(|s| (200..600).contains(s))
        .ok_or_else(|| ConvertError::new("status", "must be between 200 and 599"))?;
    let body = match d.body.take() {
        Some(b) => inline_body(b).map_err(|e| e.within("body"))?,
        None => String::new(),
    };
    if body.len() > body_limit as usize {
        return Err(ConvertError::new(
            "body",
            format!("longer than max_direct_response_body_size_bytes ({body_limit})"),
        ));
    }
    refuse_leftover(&d, "")?;
    Ok((status, Some(body).filter(|b| !b.is_empty())))
}

fn inline_body(mut b: DataSource) -> Result<String> {
    let body = match b.specifier.take() {
        Some(Specifier::InlineString(s)) => s,
        Some(Specifier::InlineBytes(bytes)) => String::from_utf8(bytes)
            .map_err(|_| ConvertError::unsupported("inline_bytes", "a body that is not UTF-8"))?,
        Some(Specifier::Filename(_)) => {
            return Err(ConvertError::unsupported(
                "filename",
                "a body read from a file",
            ))
        }
        Some(Specifier::EnvironmentVariable(_)) => {
            return Err(ConvertError::unsupported(
                "environment_variable",
                "a body read from the environment",
            ))
        }
        None => String::new(),
    };
    refuse_leftover(&b, "")?;
    Ok(body)
}
