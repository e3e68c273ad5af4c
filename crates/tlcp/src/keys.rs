//! The key schedule (GB/T 38636-2020 6.5, TLS 1.2's with the SM3 PRF): master secret
//! from the pre-master secret, the key block cut into each direction's record keys, and
//! the Finished messages' verify data.

use gm_crypto::hash::sm3;
use gm_crypto::prf::prf_sm3;

use crate::record::RecordState;
use crate::suite::CipherSuite;

/// Length of the pre-master and master secrets.
pub(crate) const SECRET_LEN: usize = 48;
/// Length of the Finished verify data.
pub(crate) const VERIFY_DATA_LEN: usize = 12;

/// The master secret: `PRF(pre_master, "master secret", client_random || server_random)`.
pub(crate) fn master_secret(
    pre_master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> [u8; SECRET_LEN] {
    let mut master = [0u8; SECRET_LEN];
    prf_sm3(
        pre_master,
        b"master secret",
        &[client_random, server_random].concat(),
        &mut master,
    );
    master
}

/// The record states of both directions, `(client_write, server_write)`, cut from
/// `PRF(master, "key expansion", server_random || client_random)`.
pub(crate) fn record_states(
    suite: CipherSuite,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> (RecordState, RecordState) {
    // CBC: two MAC keys, two SM4 keys, two IVs (unused: records carry explicit IVs).
    // GCM: two SM4 keys and two 4-byte implicit IVs.
    let (mac_len, iv_len) = if suite.is_gcm() { (0, 4) } else { (32, 16) };
    let mut block = vec![0u8; 2 * (mac_len + 16 + iv_len)];
    prf_sm3(
        master,
        b"key expansion",
        &[server_random, client_random].concat(),
        &mut block,
    );
    let (client_mac, rest) = block.split_at(mac_len);
    let (server_mac, rest) = rest.split_at(mac_len);
    let (client_key, rest) = rest.split_at(16);
    let (server_key, rest) = rest.split_at(16);
    let (client_iv, server_iv) = rest.split_at(iv_len);
    if suite.is_gcm() {
        (
            RecordState::gcm(client_key, client_iv),
            RecordState::gcm(server_key, server_iv),
        )
    } else {
        (
            RecordState::cbc(client_key, client_mac),
            RecordState::cbc(server_key, server_mac),
        )
    }
}

/// Finished verify data: `PRF(master, label, SM3(handshake_messages))[..12]`.
pub(crate) fn verify_data(master: &[u8], label: &[u8], transcript: &[u8]) -> [u8; VERIFY_DATA_LEN] {
    let mut out = [0u8; VERIFY_DATA_LEN];
    prf_sm3(master, label, &sm3(transcript), &mut out);
    out
}
