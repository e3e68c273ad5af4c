//! One route: an entry of `virtual_hosts[].routers[]` (MOSN's `v2.Router`): its
//! `match` and exactly one of `route`, `direct_response` or `redirect`.

use regex::Regex;
use std::sync::Arc;

use crate::cluster::ClusterNames;
use crate::headers::parse_header_edits;
use crate::json::{Field, Obj};
use crate::model::{
    ClusterTarget, ForwardAction, HeaderMatch, HeaderMatchMode, PathMatch, RedirectAction,
    RouteAction, RouteConfig, RouteMatch, ValueMatch, WeightedCluster,
};

/// Parses one route.
pub(crate) fn parse_route(field: &Field<'_>, clusters: &ClusterNames) -> Option<RouteConfig> {
    let obj = field.as_object()?;
    let matcher = obj.required_object("match").and_then(|m| parse_match(&m));
    let action = parse_action(&obj, clusters);
    obj.refuse(
        "per_filter_config",
        "per-route filter config (per_filter_config) is not supported yet",
    );
    obj.refuse(
        "request_mirror_policies",
        "request mirroring is not supported yet",
    );
    // A route's own `metadata` (not `route.metadata_match`) is only read by filters.
    obj.ignore("metadata", "route metadata is");
    Some(RouteConfig {
        matcher: matcher?,
        action: action?,
    })
}

/// `match`: at most one of `prefix`, `path`, `regex` (an empty string counts as unset,
/// as in MOSN), plus `headers[]`.
fn parse_match(m: &Obj<'_>) -> Option<RouteMatch> {
    let prefix = m.non_empty_str("prefix");
    let path = m.non_empty_str("path");
    let regex = m.non_empty_str_field("regex");
    m.refuse("variables", "variable matching is not supported yet");
    m.refuse(
        "dsl_expressions",
        "DSL expression matching is not supported yet",
    );
    let headers: Vec<Option<HeaderMatch>> = m.items("headers").iter().map(header_match).collect();

    let set = [prefix.is_some(), path.is_some(), regex.is_some()];
    let path_match = match (prefix, path, regex) {
        _ if set.iter().filter(|&&s| s).count() > 1 => {
            m.error("only one of prefix, path or regex may be set");
            None
        }
        (Some(p), _, _) => Some(PathMatch::Prefix(p.to_owned())),
        (_, Some(p), _) => Some(PathMatch::Exact(p.to_owned())),
        (_, _, Some((r, f))) => compile(&f, r).map(PathMatch::Regex),
        (None, None, None) if headers.is_empty() => {
            m.error("match needs prefix, path, regex or headers");
            None
        }
        (None, None, None) => Some(PathMatch::Any),
    };
    Some(RouteMatch {
        path: path_match?,
        headers: headers.into_iter().collect::<Option<_>>()?,
        query_parameters: Vec::new(),
    })
}

/// One `headers[]` criterion: `{name, value, regex: bool}`.
fn header_match(field: &Field<'_>) -> Option<HeaderMatch> {
    let obj = field.as_object()?;
    let name = obj.required_str("name").map(str::to_ascii_lowercase);
    let value = obj.get("value");
    let text = value.as_ref().and_then(|v| v.as_str()).unwrap_or("");
    let value = if obj.bool("regex") == Some(true) {
        let field = value.unwrap_or_else(|| field.clone());
        compile(&field, text).map(ValueMatch::Regex)
    } else {
        Some(ValueMatch::Exact(text.to_owned()))
    };
    Some(HeaderMatch {
        name: name?,
        value: value?,
        mode: HeaderMatchMode::Matches,
    })
}

/// Compiles a regex, reporting the regex crate's message on one line.
fn compile(field: &Field<'_>, pattern: &str) -> Option<Regex> {
    Regex::new(pattern)
        .map_err(|e| {
            let text = e.to_string();
            let reason = text
                .lines()
                .last()
                .map(|line| line.trim_start_matches("error: "))
                .unwrap_or(&text);
            field.error(format!("invalid regex {pattern:?}: {reason}"));
        })
        .ok()
}

/// Exactly one of `route`, `direct_response`, `redirect`.
fn parse_action(obj: &Obj<'_>, clusters: &ClusterNames) -> Option<RouteAction> {
    let route = obj.get("route");
    let direct = obj.get("direct_response");
    let redirect = obj.get("redirect");
    let count = [&route, &direct, &redirect]
        .iter()
        .filter(|f| f.is_some())
        .count();
    let route = route.and_then(|f| parse_forward(&f.as_object()?, clusters));
    let direct = direct.and_then(|f| parse_direct_response(&f.as_object()?));
    let redirect = redirect.and_then(|f| parse_redirect(&f.as_object()?));
    match count {
        0 => {
            obj.error("needs one of route, direct_response or redirect");
            None
        }
        1 => route
            .map(|f| RouteAction::Forward(Arc::new(f)))
            .or(direct)
            .or(redirect.map(|r| RouteAction::Redirect(Box::new(r)))),
        _ => {
            obj.error("only one of route, direct_response or redirect may be set");
            None
        }
    }
}

/// `route`: forward to `cluster_name` or `weighted_clusters`.
fn parse_forward(r: &Obj<'_>, clusters: &ClusterNames) -> Option<ForwardAction> {
    for (key, message) in [
        ("cluster_header", "cluster_header is not supported yet"),
        ("cluster_variable", "cluster_variable is not supported yet"),
        ("regex_rewrite", "regex rewrite is not supported yet"),
        (
            "auto_host_rewrite",
            "auto host rewrite is not supported yet",
        ),
        (
            "auto_host_rewrite_header",
            "auto host rewrite is not supported yet",
        ),
    ] {
        r.refuse(key, message);
    }
    let target = cluster_target(r, clusters);
    // MOSN: a zero timeout means its default (60s), which is what `None` says.
    let timeout = r.duration("timeout").filter(|d| !d.is_zero());
    let prefix_rewrite = r.non_empty_str("prefix_rewrite").map(str::to_owned);
    let host_rewrite = r.non_empty_str("host_rewrite").map(str::to_owned);
    let headers = parse_header_edits(r);
    let hash_policy = crate::hash_policy::parse_hash_policies(r);
    let metadata_match = r
        .get("metadata_match")
        .map(|f| crate::lb_subset::parse_metadata(&f))
        .unwrap_or_default();
    let upstream_protocol = match r.get("upstream_protocol") {
        Some(f) if f.as_str() == Some("") => None,
        Some(f) => Some(crate::proxy::protocol(&f, None)?),
        None => None,
    };
    let retry_policy = match r.object("retry_policy") {
        Some(obj) => Some(crate::retry_policy::parse_retry_policy(&obj)?),
        None => None,
    };
    Some(ForwardAction {
        target: target?,
        timeout,
        prefix_rewrite,
        regex_rewrite: None,
        host_rewrite,
        host_rewrite_header: None,
        headers,
        hash_policy: hash_policy?,
        retry_policy,
        upstream_protocol,
        metadata_match,
    })
}

/// Exactly one of `cluster_name` and `weighted_clusters` (the refused `cluster_header`
/// and `cluster_variable` count too, so they are not reported twice).
fn cluster_target(r: &Obj<'_>, clusters: &ClusterNames) -> Option<ClusterTarget> {
    let single = r.non_empty_str_field("cluster_name");
    let weighted = r
        .get("weighted_clusters")
        .filter(|f| !f.value.is_empty_like());
    let count = usize::from(single.is_some())
        + usize::from(weighted.is_some())
        + usize::from(r.is_set("cluster_header"))
        + usize::from(r.is_set("cluster_variable"));
    if count > 1 {
        r.error("only one of cluster_name, weighted_clusters or cluster_header may be set");
        return None;
    }
    if let Some((name, field)) = single {
        clusters.require(&field, name);
        return Some(ClusterTarget::Single(name.to_owned()));
    }
    if let Some(field) = weighted {
        return weighted_clusters(&field, clusters).map(ClusterTarget::Weighted);
    }
    if count == 0 {
        r.error("route needs cluster_name or weighted_clusters");
    }
    None
}

/// `weighted_clusters[]{cluster{name, weight}}`; the weights must add up to more than 0.
fn weighted_clusters(field: &Field<'_>, clusters: &ClusterNames) -> Option<Vec<WeightedCluster>> {
    let entries: Vec<Option<WeightedCluster>> = field
        .as_array()?
        .iter()
        .map(|item| {
            let cluster = item.as_object()?.required_object("cluster")?;
            let name = clusters.reference(cluster.required_str_field("name"));
            let weight = cluster.uint::<u32>("weight").unwrap_or(0);
            cluster.refuse("metadata_match", "metadata match is not supported yet");
            Some(WeightedCluster {
                name: name?.to_owned(),
                weight,
            })
        })
        .collect();
    let entries: Vec<WeightedCluster> = entries.into_iter().collect::<Option<_>>()?;
    let total: u64 = entries.iter().map(|c| u64::from(c.weight)).sum();
    if total == 0 || total > u64::from(u32::MAX) {
        field.error(format!(
            "weights must add up to between 1 and {}, got {total}",
            u32::MAX
        ));
        return None;
    }
    Some(entries)
}

/// `direct_response{status, body}`.
fn parse_direct_response(d: &Obj<'_>) -> Option<RouteAction> {
    let status = d.get("status");
    let status = match status.as_ref().and_then(|f| Some((f.as_uint::<u16>()?, f))) {
        Some((code, _)) if (100..=599).contains(&code) => Some(code),
        Some((code, f)) => {
            f.error(format!("status must be between 100 and 599, got {code}"));
            None
        }
        None if status.is_none() => {
            d.key_error("status", "required key is missing");
            None
        }
        None => None,
    };
    let body = d.str("body").map(str::to_owned);
    Some(RouteAction::DirectResponse {
        status: status?,
        body,
    })
}

/// `redirect{response_code, path_redirect, host_redirect, scheme_redirect}`.
fn parse_redirect(r: &Obj<'_>) -> Option<RedirectAction> {
    const CODES: [u16; 5] = [301, 302, 303, 307, 308];
    let code = match r.get("response_code") {
        None => Some(301),
        Some(f) => match f.as_uint::<u16>() {
            // 0 is Go's "unset".
            Some(0) => Some(301),
            Some(code) if CODES.contains(&code) => Some(code),
            Some(code) => {
                f.error(format!(
                    "redirect response_code must be 301, 302, 303, 307 or 308, got {code}"
                ));
                None
            }
            None => None,
        },
    };
    let scheme = r.get("scheme_redirect").and_then(|f| {
        let scheme = f.as_str()?.to_ascii_lowercase();
        let valid = scheme.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase() || (i > 0 && (b.is_ascii_digit() || b"+-.".contains(&b)))
        });
        if !valid {
            f.error(format!("invalid scheme {scheme:?}"));
        }
        Some((valid && !scheme.is_empty()).then_some(scheme))
    });
    let text = |key| r.non_empty_str(key).map(str::to_owned);
    Some(RedirectAction {
        response_code: code?,
        path_redirect: text("path_redirect"),
        host_redirect: text("host_redirect"),
        scheme_redirect: scheme.unwrap_or(None),
        strip_query: false,
    })
}
