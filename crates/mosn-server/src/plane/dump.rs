//! The live resources' versions for `/api/v1/config_dump`.

use super::{Entry, Resources};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// `{"listeners": {NAME: {"version", "last_updated"}}, "routers": …, "clusters": …,
/// "certificates": …}`;
/// `last_updated` in RFC 3339 (UTC), as Envoy's config dump.
pub(super) fn versions(resources: &Resources) -> Value {
    json!({
        "listeners": kind(&resources.listeners),
        "routers": kind(&resources.routers),
        "clusters": kind(&resources.clusters),
        "certificates": kind(&resources.certificates),
    })
}

fn kind<T>(entries: &BTreeMap<String, Entry<T>>) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(name, e)| {
                let mut m = Map::new();
                m.insert("version".into(), e.version.to_string().into());
                m.insert("last_updated".into(), rfc3339(e.updated).into());
                (name.clone(), Value::Object(m))
            })
            .collect(),
    )
}

/// `2026-12-07T18:05:09.123Z`.
fn rfc3339(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil: (year, month, day) of `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = UNIX_EPOCH + Duration::from_millis(1_796_666_709_123);
        assert_eq!(rfc3339(at), "2026-12-07T18:05:09.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
