//! A stable-Rust stand-in for the fuzz target: mangled versions of every MOSN sample
//! (truncated text, values replaced by values of every JSON type) must give `Ok` or
//! errors, never a panic.

use std::path::PathBuf;

use serde_json::{json, Value};

const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/mosn-configs"
);

/// xorshift64*, deterministic so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn samples() -> Vec<String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(SAMPLES)
        .expect("samples directory")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable sample"))
        .collect()
}

fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(18446744073709551615u64),
        json!(""),
        json!("x"),
        json!("*"),
        json!("unix:"),
        json!("0s"),
        json!("-1s"),
        json!("99999999999h"),
        json!("[::1]:0"),
        json!("10.0.0.0/99"),
        json!("(?P<"),
        json!("%x%"),
        json!([]),
        json!([null, 1, "a", {}]),
        json!({}),
        json!({"status": true, "type": "proxy", "name": "c", "cluster": "c"}),
    ]
}

/// Every node of `v`, as JSON pointers.
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{here}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{here}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn truncated_samples_never_panic() {
    for text in samples() {
        for (i, _) in text.char_indices().step_by(7) {
            let _ = mosn_config::parse_str(&text[..i]);
        }
    }
}

#[test]
fn mangled_values_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let values = replacements();
    for text in samples() {
        let doc: Value = serde_json::from_str(&text).expect("samples are valid JSON");
        let mut nodes = Vec::new();
        pointers(&doc, String::new(), &mut nodes);
        // Every node, each with a few of the replacement values.
        for node in &nodes {
            for _ in 0..6 {
                let mut mangled = doc.clone();
                if let Some(slot) = mangled.pointer_mut(node) {
                    *slot = values[rng.below(values.len())].clone();
                }
                let _ = mosn_config::parse_str(&mangled.to_string());
            }
        }
        // A few multi-point mutations too.
        for _ in 0..50 {
            let mut mangled = doc.clone();
            for _ in 0..4 {
                let node = &nodes[rng.below(nodes.len())];
                if let Some(slot) = mangled.pointer_mut(node) {
                    *slot = values[rng.below(values.len())].clone();
                }
            }
            let _ = mosn_config::parse_str(&mangled.to_string());
        }
    }
}
