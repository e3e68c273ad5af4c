//! The admin endpoints, as plain functions from a parsed request to a response.
//!
//! Paths, methods and body formats follow MOSN's `pkg/admin/server/apis.go`; where we
//! differ, the handler's comment says how and why. The socket side lives in `server.rs`.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_TYPE};
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Map, Value};

use crate::logging::{level_name, parse_level};
use crate::server::AdminState;

/// What every handler returns.
pub(crate) type Resp = Response<Full<Bytes>>;

/// MOSN's `stagemanager.Running`, the state `/api/v1/states` reports while we serve.
pub(crate) const STATE_RUNNING: u8 = 6;

/// The endpoints we serve, one per MOSN path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Help,
    Version,
    ConfigDump,
    Stats,
    StatsGlob,
    GetLogLevel,
    UpdateLogLevel,
    EnableLog,
    DisableLog,
    States,
    Reload,
}

/// Path → route, in the order the help page lists them.
const ROUTES: &[(&str, Route)] = &[
    ("/api/v1/version", Route::Version),
    ("/api/v1/config_dump", Route::ConfigDump),
    ("/api/v1/stats", Route::Stats),
    ("/api/v1/stats_glob", Route::StatsGlob),
    ("/api/v1/update_loglevel", Route::UpdateLogLevel),
    ("/api/v1/get_loglevel", Route::GetLogLevel),
    ("/api/v1/enable_log", Route::EnableLog),
    ("/api/v1/disable_log", Route::DisableLog),
    ("/api/v1/states", Route::States),
    ("/api/v1/reload", Route::Reload),
    ("/", Route::Help),
];

impl Route {
    /// The route for an exact request path (MOSN registers exact paths; `/` is its help page).
    pub(crate) fn from_path(path: &str) -> Option<Route> {
        ROUTES.iter().find(|(p, _)| *p == path).map(|(_, r)| *r)
    }

    /// The only method the route accepts; anything else (HEAD included, as in MOSN) is 405.
    pub(crate) fn method(self) -> Method {
        match self {
            Route::UpdateLogLevel | Route::EnableLog | Route::DisableLog | Route::Reload => {
                Method::POST
            }
            _ => Method::GET,
        }
    }
}

/// Runs the handler of `route`; the method has been checked and the body read already.
pub(crate) fn handle(route: Route, state: &AdminState, query: Option<&str>, body: &[u8]) -> Resp {
    let form = parse_form(query);
    match route {
        Route::Help => help(),
        Route::Version => version(state),
        Route::ConfigDump => config_dump(state, &form),
        Route::Stats => stats(state, &form),
        Route::StatsGlob => stats_glob(state),
        Route::GetLogLevel => get_loglevel(state),
        Route::UpdateLogLevel => update_loglevel(state, body),
        Route::EnableLog => toggle_log(state, body, true),
        Route::DisableLog => toggle_log(state, body, false),
        Route::States => states(),
        Route::Reload => reload(state),
    }
}

/// `POST /api/v1/reload` (a mosn-rs path; MOSN reloads by restarting): re-reads the
/// config file and applies only the differences. 200 with `{"applied": [...],
/// "rejected": []}` when everything applied; 400 with the rejected resources, or with
/// `{"refused": [...]}` when the file failed validation and nothing changed; 404 when
/// the process has no file to re-read.
fn reload(state: &AdminState) -> Resp {
    let Some(reload) = &state.reload else {
        return text(
            StatusCode::NOT_FOUND,
            "reload is not available: no config file",
        );
    };
    let (ok, report) = reload();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    json(status, &report, true)
}

/// `GET /`: MOSN's help page, `supported APIs:` then one path per line.
fn help() -> Resp {
    let mut body = String::from("supported APIs:\n");
    for (path, _) in ROUTES.iter().filter(|(p, _)| *p != "/") {
        body.push_str(path);
        body.push('\n');
    }
    text(StatusCode::OK, body)
}

/// `GET /api/v1/version`: plain text `mosn version: <version>`, no trailing newline, as
/// MOSN writes it. (MOSN accepts any method here; we only accept GET.)
fn version(state: &AdminState) -> Resp {
    text(StatusCode::OK, format!("mosn version: {}", state.version))
}

/// The whole config with `resource_versions`: each live listener's, router's and
/// cluster's version and last update time.
fn with_versions(config: &Value, state: &AdminState) -> Value {
    let mut config = config.clone();
    if let (Some(versions), Value::Object(map)) = (&state.versions, &mut config) {
        map.insert("resource_versions".into(), versions());
    }
    config
}

/// `GET /api/v1/config_dump[?one-parameter]`.
///
/// - no parameter: the whole effective config (private keys redacted), compact JSON, with
///   `resource_versions`: `{"listeners"|"routers"|"clusters": {NAME: {"version",
///   "last_updated"}}}`, the live resources' versions (bumped by every change applied)
///   and when they were applied (RFC 3339, UTC).
///   (MOSN dumps its internal `{"mosn_config", "listener", "cluster", "routers"}` model;
///   we dump the config document itself, which is what operators feed back in.)
/// - `mosnconfig`: the config without its dynamic parts, as MOSN: only the first server,
///   without `listeners`/`routers`; `cluster_manager` reduced to its `tls_context`; no `extends`.
/// - `allrouters` / `allclusters` / `alllisteners`: a JSON object name → config, from
///   `servers[].routers` (by `router_config_name`), `cluster_manager.clusters` and
///   `servers[].listeners` (by `name`).
/// - `router=NAME` / `cluster=NAME` / `listener=NAME`: that one entry; 404 if there is none
///   (MOSN answers 200 with an empty struct), 400 if the name is empty.
/// - more than one parameter: 400 `only support one parameter`, as MOSN.
/// - any other parameter: 400 (MOSN answers 500 `internal error`).
///
/// Selections are indented JSON, as MOSN's `MarshalIndent`. Config keys are matched
/// case-insensitively (`Name` works like `name`), as Go's JSON decoder does.
fn config_dump(state: &AdminState, form: &[(String, Vec<String>)]) -> Resp {
    let config = state.config_json.load();
    let (key, values) = match form {
        [] => return json(StatusCode::OK, &with_versions(&config, state), false),
        [single] => single,
        _ => return text(StatusCode::BAD_REQUEST, "only support one parameter"),
    };
    let value = values.first().map(String::as_str).unwrap_or("");
    let (kind, entries) = match key.as_str() {
        "mosnconfig" => return json(StatusCode::OK, &mosn_config_only(&config), true),
        "allrouters" => return json(StatusCode::OK, &Value::Object(routers(&config)), true),
        "allclusters" => return json(StatusCode::OK, &Value::Object(clusters(&config)), true),
        "alllisteners" => {
            return json(StatusCode::OK, &Value::Object(listeners(&config)), true);
        }
        "router" => ("router", routers(&config)),
        "cluster" => ("cluster", clusters(&config)),
        "listener" => ("listener", listeners(&config)),
        other => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("unsupported config_dump parameter: {}\n", one_line(other)),
            );
        }
    };
    if value.is_empty() {
        return text(
            StatusCode::BAD_REQUEST,
            format!("parameter {kind} needs a name\n"),
        );
    }
    match entries.get(value) {
        Some(entry) => json(StatusCode::OK, entry, true),
        None => text(
            StatusCode::NOT_FOUND,
            format!("{kind} not found: {}\n", one_line(value)),
        ),
    }
}

/// `GET /api/v1/stats[?key=TYPE.NAME]`.
///
/// Without parameters: `StatsRegistry::to_json()`, i.e. `{"listener": {NAME: {...}},
/// "cluster": {NAME: {...}}}` with numeric values. MOSN's console sink has the same
/// type → namespace → metric nesting, but its namespaces are label strings and its values
/// are strings; our metric names are Envoy-style (`downstream_cx_total`, ...).
///
/// Each cluster of the running config also has `"hosts": {ADDRESS: {...}}` (address as
/// `127.0.0.1:8080` or `unix:/path`), one entry per current host: `rq_total` (attempts
/// with a reported outcome), `rq_active`, `rq_error` (5xx, connect failure, reset,
/// timeout), `rq_timeout`, `cx_total`, `cx_active`, `cx_connect_fail` (failed or timed
/// out), `lb_picks` (times the balancer picked it), `healthy`, `health_flags`
/// (`failed_active_hc`, `failed_outlier_check`), `ejections` (outlier ejections),
/// `weight`. Host counters live on the host: they start over when a reload rebuilds the
/// cluster. A cluster only in the registry (removed by a reload) has no `hosts`.
///
/// `?key=listener.NAME` or `?key=cluster.NAME` selects one entry (a cluster with its
/// hosts), keeping the nesting. As MOSN: an unknown key is 200 with `no metrics key:
/// KEY`, more than one parameter is 400.
fn stats(state: &AdminState, form: &[(String, Vec<String>)]) -> Resp {
    let mut all = state.stats.to_json();
    if let Some(hosts) = &state.hosts {
        merge_hosts(&mut all, hosts());
    }
    let key = match form {
        [] => return json(StatusCode::OK, &all, true),
        [(name, values)] if name == "key" => values.first().map(String::as_str).unwrap_or(""),
        [_] => "",
        _ => return text(StatusCode::BAD_REQUEST, "only support one parameter"),
    };
    let found = key
        .split_once('.')
        .and_then(|(typ, name)| Some((typ, name, all.get(typ)?.get(name)?)));
    match found {
        Some((typ, name, entry)) => {
            let mut inner = Map::new();
            inner.insert(name.to_string(), entry.clone());
            let mut outer = Map::new();
            outer.insert(typ.to_string(), Value::Object(inner));
            json(StatusCode::OK, &Value::Object(outer), true)
        }
        None => text(StatusCode::OK, format!("no metrics key: {key}")),
    }
}

/// Puts each cluster's entry of `hosts` (`{CLUSTER: {ADDRESS: {...}}}`) under
/// `all["cluster"][CLUSTER]["hosts"]`.
fn merge_hosts(all: &mut Value, hosts: Value) {
    let (Some(clusters), Value::Object(hosts)) =
        (all.get_mut("cluster").and_then(Value::as_object_mut), hosts)
    else {
        return;
    };
    for (name, cluster_hosts) in hosts {
        let entry = clusters
            .entry(name)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(entry) = entry {
            entry.insert("hosts".to_string(), cluster_hosts);
        }
    }
}

/// `GET /api/v1/stats_glob`: MOSN's "proxy total" dump, one `name:value` line per metric
/// of the global downstream proxy stats. Ours are the listener stats summed over all
/// listeners, sorted by name. Like MOSN, query parameters are ignored.
fn stats_glob(state: &AdminState) -> Resp {
    let mut totals: BTreeMap<String, i128> = BTreeMap::new();
    if let Value::Object(template) = mosn_api::stats::ListenerStats::default().to_json() {
        totals.extend(template.keys().map(|k| (k.clone(), 0)));
    }
    if let Some(Value::Object(listeners)) = state.stats.to_json().get("listener") {
        for stats in listeners.values().filter_map(Value::as_object) {
            for (name, value) in stats {
                let n = value
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| value.as_u64().map(i128::from))
                    .unwrap_or(0);
                *totals.entry(name.clone()).or_default() += n;
            }
        }
    }
    let body: String = totals.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    text(StatusCode::OK, body)
}

/// `GET /api/v1/get_loglevel`: MOSN's map of error-log path → level name, compact JSON.
/// We have one logger: `{"<default_log_path>": "INFO"}`, or `{}` if logging is not ours.
fn get_loglevel(state: &AdminState) -> Resp {
    let mut map = Map::new();
    if let Some(log) = &state.log {
        map.insert(log.path().to_string(), Value::from(level_name(log.level())));
    }
    json(StatusCode::OK, &Value::Object(map), false)
}

/// `POST /api/v1/update_loglevel` with MOSN's body `{"log_path": "...", "log_level": "DEBUG"}`.
///
/// 200 `update logger success` on success, as MOSN. A body that is not that JSON, an
/// unknown level or a path that is not our logger's is 400 with MOSN's error shape,
/// `{"error": "update logger failed: <why>"}` (MOSN gives no reason). Levels are MOSN's names,
/// case-insensitive here (MOSN wants upper case), plus `WARNING`.
fn update_loglevel(state: &AdminState, body: &[u8]) -> Resp {
    const FAILED: &str = "update logger failed";
    let request: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("{FAILED}: body is not a JSON object"),
            )
        }
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("{FAILED}: invalid JSON body: {e}"),
            );
        }
    };
    // Missing fields are empty strings, as Go's decoder leaves them.
    let field = |name: &str| match get_ci(&request, name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{FAILED}: {name} must be a string")),
    };
    let (path, level_text) = match (field("log_path"), field("log_level")) {
        (Ok(p), Ok(l)) => (p, l),
        (Err(msg), _) | (_, Err(msg)) => return json_error(StatusCode::BAD_REQUEST, &msg),
    };
    let Some(level) = parse_level(&level_text) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!("{FAILED}: not found log level: {level_text}"),
        );
    };
    let log = match &state.log {
        Some(log) if log.path() == path => log,
        _ => {
            return json_error(
                StatusCode::BAD_REQUEST,
                &format!("{FAILED}: not found logger: {path}"),
            );
        }
    };
    if let Err(e) = log.set_level(level) {
        return json_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{FAILED}: {e}"));
    }
    tracing::info!(
        "[admin api] [update log level] update log: {} level as {}",
        path,
        level_name(level)
    );
    text(StatusCode::OK, "update logger success\n")
}

/// `POST /api/v1/enable_log` and `/api/v1/disable_log`: the body is the logger's path
/// (surrounding whitespace ignored here). 200 `enable logger success` / `disable logger
/// success`; 400 `{"error": "enable logger failed"}` etc. for an unknown path, as MOSN.
/// Disabling silences the logger; enabling restores its current level.
fn toggle_log(state: &AdminState, body: &[u8], enable: bool) -> Resp {
    let verb = if enable { "enable" } else { "disable" };
    let path = String::from_utf8_lossy(body);
    let path = path.trim();
    let log = match &state.log {
        Some(log) if log.path() == path => log,
        _ => {
            return json_error(StatusCode::BAD_REQUEST, &format!("{verb} logger failed"));
        }
    };
    if let Err(e) = log.set_enabled(enable) {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("{verb} logger failed: {e}"),
        );
    }
    if enable {
        tracing::info!("[admin api] [enable logger] enable logger {path}");
    }
    text(StatusCode::OK, format!("{verb} logger success\n"))
}

/// `GET /api/v1/states`: MOSN's `pid=<pid>&state=<n>` line, where `n` is its stage number;
/// while this server answers, the process is running (MOSN's `Running` = 6).
fn states() -> Resp {
    text(
        StatusCode::OK,
        format!("pid={}&state={}\n", std::process::id(), STATE_RUNNING),
    )
}

/// 404 for paths MOSN does not serve, with Go's one-line body.
pub(crate) fn not_found() -> Resp {
    text(StatusCode::NOT_FOUND, "404 page not found\n")
}

/// 405 naming the allowed method (MOSN sends no body; one line does no harm).
pub(crate) fn method_not_allowed(allowed: &Method) -> Resp {
    let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    if let Ok(v) = HeaderValue::from_str(allowed.as_str()) {
        resp.headers_mut().insert(ALLOW, v);
    }
    resp
}

/// A one-line error for failures reading the request body; closes the connection since
/// the unread rest of the body cannot be trusted.
pub(crate) fn body_error(status: StatusCode, msg: &str) -> Resp {
    let mut resp = json_error(status, msg);
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Resp {
    respond(status, "text/plain; charset=utf-8", body.into())
}

/// A JSON response, indented when `pretty`.
pub(crate) fn json(status: StatusCode, value: &Value, pretty: bool) -> Resp {
    let body = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    };
    // Serialising a `Value` cannot fail.
    respond(status, "application/json", body.unwrap_or_default().into())
}

/// MOSN's error shape `{"error": "..."}`, on one line.
fn json_error(status: StatusCode, msg: &str) -> Resp {
    let mut body = serde_json::json!({ "error": msg }).to_string();
    body.push('\n');
    respond(status, "application/json", body.into())
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Resp {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Keeps echoed request text on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// `key=value&...` as Go's `ParseForm` sees it: keys in first-seen order with all their
/// values, `+` and `%XX` decoded, empty segments skipped.
pub(crate) fn parse_form(query: Option<&str>) -> Vec<(String, Vec<String>)> {
    let mut form: Vec<(String, Vec<String>)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match form.iter_mut().find(|(key, _)| *key == k) {
            Some((_, values)) => values.push(v),
            None => form.push((k, vec![v])),
        }
    }
    form
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `obj[key]`, trying the exact key first and then any case-insensitive match.
fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let map = obj.as_object()?;
    map.get(key).or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The array at `obj[key]` (case-insensitive), or nothing.
fn array_ci<'a>(obj: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    get_ci(obj, key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `entries` keyed by their string field `name_key`; entries without one are skipped.
fn by_name<'a>(entries: impl Iterator<Item = &'a Value>, name_key: &str) -> Map<String, Value> {
    entries
        .filter_map(|e| Some((get_ci(e, name_key)?.as_str()?.to_string(), e.clone())))
        .collect()
}

fn routers(config: &Value) -> Map<String, Value> {
    by_name(
        array_ci(config, "servers").flat_map(|s| array_ci(s, "routers")),
        "router_config_name",
    )
}

fn listeners(config: &Value) -> Map<String, Value> {
    by_name(
        array_ci(config, "servers").flat_map(|s| array_ci(s, "listeners")),
        "name",
    )
}

fn clusters(config: &Value) -> Map<String, Value> {
    let manager = get_ci(config, "cluster_manager").unwrap_or(&Value::Null);
    by_name(array_ci(manager, "clusters"), "name")
}

/// MOSN's `mosnconfig` view: the static part of the config.
fn mosn_config_only(config: &Value) -> Value {
    let Value::Object(top) = config else {
        return config.clone();
    };
    let mut out = Map::new();
    for (key, value) in top {
        if key.eq_ignore_ascii_case("extends") {
            continue;
        }
        let value = if key.eq_ignore_ascii_case("servers") {
            match value.as_array().and_then(|a| a.first()) {
                Some(first) => Value::Array(vec![without_keys(first, &["listeners", "routers"])]),
                None => value.clone(),
            }
        } else if key.eq_ignore_ascii_case("cluster_manager") {
            match value {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case("tls_context"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

fn without_keys(value: &Value, drop: &[&str]) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !drop.iter().any(|d| k.eq_ignore_ascii_case(d)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_parsing_matches_go() {
        assert!(parse_form(None).is_empty());
        assert!(parse_form(Some("")).is_empty());
        assert_eq!(
            parse_form(Some("mosnconfig")),
            vec![("mosnconfig".to_string(), vec![String::new()])]
        );
        assert_eq!(
            parse_form(Some("router=a%20b&&router=c+d&x=%zz%4")),
            vec![
                (
                    "router".to_string(),
                    vec!["a b".to_string(), "c d".to_string()]
                ),
                ("x".to_string(), vec!["%zz%4".to_string()]),
            ]
        );
        assert_eq!(percent_decode("%41%"), "A%");
        assert_eq!(percent_decode("%e4%b8%ad"), "中");
    }

    #[test]
    fn routes_and_methods() {
        assert_eq!(Route::from_path("/api/v1/stats"), Some(Route::Stats));
        assert_eq!(Route::from_path("/"), Some(Route::Help));
        assert_eq!(Route::from_path("/api/v1/stats/"), None);
        assert_eq!(Route::from_path("/api/v1/nope"), None);
        assert_eq!(Route::UpdateLogLevel.method(), Method::POST);
        assert_eq!(Route::ConfigDump.method(), Method::GET);
    }

    #[test]
    fn selections_are_case_insensitive_on_config_keys() {
        let config = json!({
            "Servers": [{
                "default_log_path": "stdout",
                "Listeners": [{"Name": "l1", "address": "127.0.0.1:1"}, {"address": "no-name"}],
                "routers": [{"router_config_name": "r1", "virtual_hosts": []}]
            }, {
                "listeners": [{"name": "l2"}]
            }],
            "cluster_manager": {
                "tls_context": {"status": false},
                "clusters": [{"name": "c1", "hosts": []}]
            },
            "admin": {"address": {}},
            "extends": []
        });
        let l = listeners(&config);
        assert_eq!(l.keys().collect::<Vec<_>>(), ["l1", "l2"]);
        assert_eq!(l["l1"]["address"], "127.0.0.1:1");
        assert_eq!(routers(&config).keys().collect::<Vec<_>>(), ["r1"]);
        assert_eq!(clusters(&config).keys().collect::<Vec<_>>(), ["c1"]);

        let m = mosn_config_only(&config);
        assert_eq!(
            m,
            json!({
                "Servers": [{"default_log_path": "stdout"}],
                "cluster_manager": {"tls_context": {"status": false}},
                "admin": {"address": {}}
            })
        );
    }

    #[test]
    fn selections_on_odd_configs_are_empty() {
        for config in [
            json!(null),
            json!([]),
            json!({"servers": 3}),
            json!({"cluster_manager": []}),
        ] {
            assert!(listeners(&config).is_empty());
            assert!(routers(&config).is_empty());
            assert!(clusters(&config).is_empty());
        }
    }
}
