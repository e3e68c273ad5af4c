//! Randomness from the operating system, for hello randoms, IVs and secrets.

use rand_core::{OsRng, RngCore};

/// Fills `buf` with random bytes.
pub(crate) fn fill(buf: &mut [u8]) {
    OsRng.fill_bytes(buf);
}

/// A hello random: the current time in seconds (GB/T 38636's `gmt_unix_time`), then
/// 28 random bytes.
pub(crate) fn hello_random() -> [u8; 32] {
    let mut random = [0u8; 32];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or_default();
    random[..4].copy_from_slice(&now.to_be_bytes());
    fill(&mut random[4..]);
    random
}
