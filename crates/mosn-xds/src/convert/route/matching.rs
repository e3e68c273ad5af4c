//! `RouteMatch` → the model's [`RouteMatch`]: the path criterion, header criteria,
//! `grpc` as a header criterion on `content-type`, and query parameter criteria.
//!
//! The model has exact and prefix paths and unanchored regexes; Envoy's forms that have
//! no variant (case-insensitive paths, `path_separated_prefix`, whole-text `safe_regex`,
//! header prefix/suffix/contains, `ignore_case`) become anchored regexes with the same
//! meaning. `invert_match` and `present_match: false` become the model's header match
//! modes. Pseudo-headers are refused (mosn matches regular headers only).

use super::super::{refuse_leftover, ConvertError, Result};
use super::re2::{compile, full_match, literal, Anchor};
use envoy_types::pb::envoy::config::route::v3::header_matcher::HeaderMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::query_parameter_matcher::QueryParameterMatchSpecifier;
use envoy_types::pb::envoy::config::route::v3::route_match::PathSpecifier;
use envoy_types::pb::envoy::config::route::v3::{
    HeaderMatcher, QueryParameterMatcher, RouteMatch as EnvoyMatch,
};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::matcher::v3::StringMatcher;
use mosn_config::model::{
    HeaderMatch, HeaderMatchMode, PathMatch, QueryParameterMatch, QueryValueMatch, RouteMatch,
    ValueMatch,
};

/// Converts a route's `match`.
pub(super) fn route_match(mut m: EnvoyMatch) -> Result<RouteMatch> {
    let case_sensitive = m.case_sensitive.take().is_none_or(|b| b.value);
    let path = path_match(m.path_specifier.take(), case_sensitive)?;
    let mut headers = std::mem::take(&mut m.headers)
        .into_iter()
        .enumerate()
        .map(|(i, h)| header_match(h).map_err(|e| e.within(format!("headers[{i}]"))))
        .collect::<Result<Vec<_>>>()?;
    headers.shrink_to_fit();
    if m.grpc.take().is_some() {
        headers.push(grpc_content_type()?);
    }
    let mut query_parameters = std::mem::take(&mut m.query_parameters)
        .into_iter()
        .enumerate()
        .map(|(i, q)| query_match(q).map_err(|e| e.within(format!("query_parameters[{i}]"))))
        .collect::<Result<Vec<_>>>()?;
    query_parameters.shrink_to_fit();
    refuse_leftover(&m, "")?;
    Ok(RouteMatch {
        path,
        headers,
        query_parameters,
    })
}

/// One `query_parameters` entry: a string matcher on the first value, `present_match`
/// (true: present, false: absent), or nothing (present), as Envoy 1.40 reads them.
fn query_match(mut q: QueryParameterMatcher) -> Result<QueryParameterMatch> {
    if q.name.is_empty() {
        return Err(ConvertError::new("name", "must not be empty"));
    }
    let name = std::mem::take(&mut q.name);
    let value = match q.query_parameter_match_specifier.take() {
        Some(QueryParameterMatchSpecifier::StringMatch(s)) => {
            QueryValueMatch::Matches(string_match(s).map_err(|e| e.within("string_match"))?)
        }
        Some(QueryParameterMatchSpecifier::PresentMatch(false)) => QueryValueMatch::Absent,
        Some(QueryParameterMatchSpecifier::PresentMatch(true)) | None => QueryValueMatch::Present,
    };
    refuse_leftover(&q, "")?;
    Ok(QueryParameterMatch { name, value })
}

fn path_match(spec: Option<PathSpecifier>, case_sensitive: bool) -> Result<PathMatch> {
    let regex = |pattern: String, field: &str| {
        compile(&pattern)
            .map(PathMatch::Regex)
            .map_err(|reason| ConvertError::new(field, reason))
    };
    // A prefix `prefix_rewrite` replaces by its length, as Envoy replaces the matched
    // prefix (its case folding keeps lengths: ASCII only).
    let regex_prefix = |pattern: String, len: usize, field: &str| {
        compile(&pattern)
            .map(|regex| PathMatch::RegexPrefix { regex, len })
            .map_err(|reason| ConvertError::new(field, reason))
    };
    match spec {
        Some(PathSpecifier::Prefix(p)) if case_sensitive => Ok(PathMatch::Prefix(p)),
        Some(PathSpecifier::Path(p)) if case_sensitive => Ok(PathMatch::Exact(p)),
        Some(PathSpecifier::Prefix(p)) => {
            regex_prefix(literal(&p, Anchor::Prefix, true), p.len(), "prefix")
        }
        Some(PathSpecifier::Path(p)) => regex(literal(&p, Anchor::Exact, true), "path"),
        Some(PathSpecifier::PathSeparatedPrefix(p)) => {
            separated_prefix_is_valid(&p)?;
            let prefix = literal(&p, Anchor::Prefix, !case_sensitive);
            regex_prefix(format!("{prefix}(?:/|$)"), p.len(), "path_separated_prefix")
        }
        Some(PathSpecifier::SafeRegex(r)) => {
            // `case_sensitive` does not apply to regexes (Envoy ignores it too).
            full_match(&r)
                .map(PathMatch::Regex)
                .map_err(|e| e.within("safe_regex"))
        }
        Some(PathSpecifier::ConnectMatcher(_)) => Err(ConvertError::unsupported(
            "connect_matcher",
            "matching CONNECT requests",
        )),
        Some(PathSpecifier::PathMatchPolicy(p)) => Err(ConvertError::unsupported(
            "path_match_policy",
            format!("path match policy {}", p.name),
        )),
        None => Err(ConvertError::new(
            "",
            "a route match needs prefix, path, safe_regex or path_separated_prefix",
        )),
    }
}

/// Envoy's own rules for `path_separated_prefix`.
fn separated_prefix_is_valid(p: &str) -> Result<()> {
    if p.contains(['?', '#']) || p.ends_with('/') {
        return Err(ConvertError::new(
            "path_separated_prefix",
            "must contain neither ? nor # and must not end with /",
        ));
    }
    Ok(())
}

/// `grpc: {}`: Envoy's test for a gRPC request, a `content-type` of `application/grpc`
/// or `application/grpc+…`.
fn grpc_content_type() -> Result<HeaderMatch> {
    let value = compile("^application/grpc(?:\\+|$)")
        .map_err(|reason| ConvertError::new("grpc", reason))?;
    Ok(HeaderMatch {
        name: "content-type".into(),
        value: ValueMatch::Regex(value),
        mode: HeaderMatchMode::Matches,
    })
}

fn header_match(mut h: HeaderMatcher) -> Result<HeaderMatch> {
    let name = matchable_name(std::mem::take(&mut h.name))?;
    let invert = std::mem::take(&mut h.invert_match);
    // Presence tests turn into absence tests when inverted; value tests into "present
    // with another value" (a missing header fails both ways, as in Envoy).
    let presence = |present: bool| {
        let mode = if present != invert {
            HeaderMatchMode::Matches
        } else {
            HeaderMatchMode::Absent
        };
        any_value().map(|value| (value, mode))
    };
    let valued = |value: Result<ValueMatch>| {
        let mode = if invert {
            HeaderMatchMode::NotMatches
        } else {
            HeaderMatchMode::Matches
        };
        value.map(|value| (value, mode))
    };
    let (value, mode) = match h.header_match_specifier.take() {
        None | Some(HeaderMatchSpecifier::PresentMatch(true)) => presence(true),
        Some(HeaderMatchSpecifier::PresentMatch(false)) => presence(false),
        Some(spec) => valued(specified_value(spec)),
    }?;
    refuse_leftover(&h, "")?;
    Ok(HeaderMatch { name, value, mode })
}

/// The value a header matcher's specifier (other than presence) asks for.
#[allow(deprecated)] // exact_match … contains_match: deprecated, but control planes send them.
fn specified_value(spec: HeaderMatchSpecifier) -> Result<ValueMatch> {
    match spec {
        HeaderMatchSpecifier::PresentMatch(_) => any_value(),
        HeaderMatchSpecifier::ExactMatch(v) => Ok(ValueMatch::Exact(v)),
        HeaderMatchSpecifier::SafeRegexMatch(r) => full_match(&r)
            .map(ValueMatch::Regex)
            .map_err(|e| e.within("safe_regex_match")),
        HeaderMatchSpecifier::PrefixMatch(v) => anchored(&v, Anchor::Prefix, false, "prefix_match"),
        HeaderMatchSpecifier::SuffixMatch(v) => anchored(&v, Anchor::Suffix, false, "suffix_match"),
        HeaderMatchSpecifier::ContainsMatch(v) => {
            anchored(&v, Anchor::Contains, false, "contains_match")
        }
        HeaderMatchSpecifier::StringMatch(s) => {
            string_match(s).map_err(|e| e.within("string_match"))
        }
        HeaderMatchSpecifier::RangeMatch(_) => Err(ConvertError::unsupported(
            "range_match",
            "matching a header by integer range",
        )),
    }
}

/// Any value, empty included: a present-header test.
fn any_value() -> Result<ValueMatch> {
    compile("")
        .map(ValueMatch::Regex)
        .map_err(|reason| ConvertError::new("", reason))
}

/// A header name the model can match, lower-cased. Envoy keeps `:authority`, `:path`,
/// `:method` and `:scheme` as headers (HTTP/1's `Host` among them, as `:authority`);
/// mosn's route matching sees regular headers only.
fn matchable_name(name: String) -> Result<String> {
    if name.is_empty() {
        return Err(ConvertError::new("name", "must not be empty"));
    }
    if name.starts_with(':') || name.eq_ignore_ascii_case("host") {
        return Err(ConvertError::unsupported(
            "name",
            format!("matching the {name} header (mosn matches regular headers only)"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}

/// A `StringMatcher` on a header value.
fn string_match(mut s: StringMatcher) -> Result<ValueMatch> {
    let ignore_case = std::mem::take(&mut s.ignore_case);
    let value = match s.match_pattern.take() {
        Some(MatchPattern::Exact(v)) if !ignore_case => Ok(ValueMatch::Exact(v)),
        Some(MatchPattern::Exact(v)) => anchored_any(&v, Anchor::Exact, true, "exact"),
        Some(MatchPattern::Prefix(v)) => anchored(&v, Anchor::Prefix, ignore_case, "prefix"),
        Some(MatchPattern::Suffix(v)) => anchored(&v, Anchor::Suffix, ignore_case, "suffix"),
        Some(MatchPattern::Contains(v)) => anchored(&v, Anchor::Contains, ignore_case, "contains"),
        // `ignore_case` has no effect on regexes (Envoy's rule too).
        Some(MatchPattern::SafeRegex(r)) => full_match(&r)
            .map(ValueMatch::Regex)
            .map_err(|e| e.within("safe_regex")),
        Some(MatchPattern::Custom(c)) => Err(ConvertError::unsupported(
            "custom",
            format!("custom string matcher {}", c.name),
        )),
        None => Err(ConvertError::new("", "a string matcher needs a pattern")),
    }?;
    refuse_leftover(&s, "")?;
    Ok(value)
}

/// A non-empty literal (Envoy requires one for prefix, suffix and contains).
fn anchored(text: &str, anchor: Anchor, ignore_case: bool, field: &str) -> Result<ValueMatch> {
    if text.is_empty() {
        return Err(ConvertError::new(field, "must not be empty"));
    }
    anchored_any(text, anchor, ignore_case, field)
}

/// A literal, possibly empty, as an anchored regex.
fn anchored_any(text: &str, anchor: Anchor, ignore_case: bool, field: &str) -> Result<ValueMatch> {
    compile(&literal(text, anchor, ignore_case))
        .map(ValueMatch::Regex)
        .map_err(|reason| ConvertError::new(field, reason))
}
