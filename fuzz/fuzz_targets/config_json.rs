//! Arbitrary UTF-8 through the MOSN config parser: it must return errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(parsed) = mosn_config::parse_str(text) {
        // A config that parses must also dump.
        let _ = parsed.config.redacted_json.to_string();
    }
});
