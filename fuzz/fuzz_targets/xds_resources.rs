//! Arbitrary bytes as the resources of ADS responses, through the client's state exactly
//! as a stream hands them over (`XdsState::update`): protobuf decoding, the conversion of
//! each Envoy resource into mosn's model, the warming of clusters and listeners on the
//! endpoints, routes and secrets they name, and the config dump that re-reads the stored
//! bytes. A control plane is outside input; none of it may panic or hang.
//!
//! Input: the first byte's low nibble picks the resource type (`XdsType::ALL`: Cluster,
//! ClusterLoadAssignment, Listener, RouteConfiguration, Secret) and, when its high nibble
//! is 0, the rest is that resource. With a high nibble `n` > 0 a second resource of type
//! `ALL[(n - 1) % 5]` follows: a little-endian `u16` gives the first one's length, the
//! bytes after it are the second, so a cluster can meet its endpoints, a listener its
//! route configuration, either its secret.
#![no_main]

use envoy_types::pb::google::protobuf::Any;
use libfuzzer_sys::fuzz_target;
use mosn_xds::ads::state::{Incoming, XdsState};
use mosn_xds::ads::types::XdsType;
use mosn_xds::dump::DumpSource;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

fuzz_target!(init: hold_descriptor_pool(), |data: &[u8]| run(data));

/// One input; see the top of the file.
fn run(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let first = XdsType::ALL[usize::from(head & 0x0f) % 5];
    let parts: Vec<(XdsType, &[u8])> = match head >> 4 {
        0 => vec![(first, rest)],
        n => {
            let second = XdsType::ALL[usize::from(n - 1) % 5];
            let (len, rest) = rest.split_at(rest.len().min(2));
            let len = len
                .iter()
                .rev()
                .fold(0, |acc, &b| acc << 8 | usize::from(b));
            let (a, b) = rest.split_at(len.min(rest.len()));
            vec![(first, a), (second, b)]
        }
    };
    let start = Instant::now();
    let mut state = XdsState::new(Some(Duration::from_secs(1)));
    for &(ty, body) in &parts {
        send(&mut state, ty, body, start);
    }
    // Whatever still warms goes live without what it waits for.
    let _ = state.expire_warming(start + Duration::from_secs(2));
    for ty in XdsType::ALL {
        let _ = (
            state.subscriptions(ty),
            state.versions(ty),
            state.stored(ty),
        );
    }
    let _ = state.next_deadline();
    // The same bytes again: skipped as unchanged (SotW re-sends every resource).
    for &(ty, body) in &parts {
        send(&mut state, ty, body, start + Duration::from_secs(3));
    }
    let state = Arc::new(parking_lot::Mutex::new(state));
    let dump = DumpSource {
        bootstrap: Default::default(),
        loaded: SystemTime::UNIX_EPOCH,
        ads: Some(state.clone()),
    };
    let _ = dump.to_json(true);
    // Everything removed, as Delta says it: the dependents fall back to warming.
    let mut state = state.lock();
    for ty in XdsType::ALL {
        let names: Vec<String> = state.versions(ty).into_keys().collect();
        let _ = state.update(ty, Vec::new(), &names, false, start);
    }
}

/// One response of type `ty` carrying `body`, as state of the world sends it.
fn send(state: &mut XdsState, ty: XdsType, body: &[u8], now: Instant) {
    let incoming = Incoming {
        name: None,
        version: "v".into(),
        body: Any {
            type_url: ty.url(),
            value: body.to_vec(),
        },
    };
    let _ = state.update(ty, vec![incoming], &[], ty.is_wildcard(), now);
}

/// `mosn_xds::proto` decodes Envoy's descriptor pool whenever no one holds it; held for
/// the whole run, it is decoded once rather than on every call.
fn hold_descriptor_pool() {
    Box::leak(Box::new(mosn_xds::proto::pool()));
}
