//! The SM4 block cipher (GB/T 32907) with table-driven rounds, several blocks at a time.
//!
//! RustCrypto's `sm4` crate does each round as four S-box byte lookups followed by the
//! five-term rotation of L, one block at a time; in TLS 1.3 SM4-GCM bulk transfer that
//! was 77% of the CPU. Here each round is four lookups in precomputed tables that fold
//! L into the S-box ([`super::tables::T_TABLES`]), and the backend hands the modes
//! [`LANES`] blocks per call so CTR (the GCM and CCM keystream) and CBC decryption run
//! that many independent blocks interleaved, hiding the latency of each round's loads.
//!
//! # Side channels
//!
//! The tables are indexed by bytes that depend on the key and the data, so which cache
//! lines are touched leaks to an attacker who can time the cache of the same machine
//! (another tenant on the core, or a co-located process): this implementation is not
//! constant-time. It is the same trade-off as the portable C SM4 that OpenSSL and
//! Tongsuo use on CPUs without SM4 or AES-NI instructions, with the same mitigation:
//! the first and last four rounds, the easiest to attack, use only the 256-byte S-box
//! (see [`rounds`]). The `sm4` crate it replaces was not constant-time either (it
//! indexes its S-box by the same secret bytes in every round), but in the middle rounds
//! a cache-line attacker learns more per lookup here (a 1 KiB table spans 16 cache
//! lines; the S-box spans 4). A constant-time version (bitsliced, or the SM4 S-box
//! computed through AES-NI) is future work.

use cipher::consts::{U16, U8};
use cipher::inout::InOut;
use cipher::typenum::Unsigned;
use cipher::{
    AlgorithmName, Block, BlockBackend, BlockCipher, BlockClosure, BlockDecrypt, BlockEncrypt,
    BlockSizeUser, Key, KeyInit, KeySizeUser, ParBlocks, ParBlocksSizeUser,
};
use core::fmt;

use super::tables::{l, tau, CK, FK, T_TABLES};

/// Blocks processed together by the parallel path: enough independent work to keep the
/// load ports busy while each block's rounds wait on their table lookups (measured on
/// x86-64: 8 lanes are about 10% faster than 4, and than 16).
type Lanes = U8;
const LANES: usize = Lanes::USIZE;

/// The SM4 block cipher with an expanded key, for the block modes ([`super::Sm4Gcm`],
/// [`super::Sm4Ccm`], [`super::cbc_encrypt`]) through the RustCrypto `cipher` traits.
#[derive(Clone)]
pub struct Sm4 {
    rk: [u32; 32],
}

impl KeySizeUser for Sm4 {
    type KeySize = U16;
}

impl KeyInit for Sm4 {
    /// The key schedule (section 7.3): `K[i+4] = K[i] ^ T'(K[i+1] ^ K[i+2] ^ K[i+3] ^ CK[i])`
    /// from `K[0..4] = MK ^ FK`, with `T'` the S-box followed by L'.
    fn new(key: &Key<Self>) -> Self {
        let mut k = load(key);
        for (k, fk) in k.iter_mut().zip(FK) {
            *k ^= fk;
        }
        let mut rk = [0u32; 32];
        for (i, ck) in CK.into_iter().enumerate() {
            let b = tau(k[(i + 1) % 4] ^ k[(i + 2) % 4] ^ k[(i + 3) % 4] ^ ck);
            k[i % 4] ^= b ^ b.rotate_left(13) ^ b.rotate_left(23);
            rk[i] = k[i % 4];
        }
        Self { rk }
    }
}

impl BlockSizeUser for Sm4 {
    type BlockSize = U16;
}

impl BlockCipher for Sm4 {}

impl BlockEncrypt for Sm4 {
    fn encrypt_with_backend(&self, f: impl BlockClosure<BlockSize = U16>) {
        f.call(&mut Backend::<false>(&self.rk));
    }
}

impl BlockDecrypt for Sm4 {
    fn decrypt_with_backend(&self, f: impl BlockClosure<BlockSize = U16>) {
        f.call(&mut Backend::<true>(&self.rk));
    }
}

impl fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4 { .. }")
    }
}

impl AlgorithmName for Sm4 {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4")
    }
}

/// Encryption (`DEC = false`) or decryption over the round keys: SM4 decrypts by
/// running the same rounds with the keys in reverse order.
struct Backend<'a, const DEC: bool>(&'a [u32; 32]);

impl<const DEC: bool> BlockSizeUser for Backend<'_, DEC> {
    type BlockSize = U16;
}

impl<const DEC: bool> ParBlocksSizeUser for Backend<'_, DEC> {
    type ParBlocksSize = Lanes;
}

impl<const DEC: bool> BlockBackend for Backend<'_, DEC> {
    #[inline(always)]
    fn proc_block(&mut self, mut block: InOut<'_, '_, Block<Self>>) {
        let mut x = [load(block.get_in())];
        rounds::<1, DEC>(self.0, &mut x);
        store(x[0], block.get_out());
    }

    #[inline(always)]
    fn proc_par_blocks(&mut self, mut blocks: InOut<'_, '_, ParBlocks<Self>>) {
        let input = blocks.get_in();
        let mut x: [[u32; 4]; LANES] = core::array::from_fn(|i| load(&input[i]));
        rounds::<LANES, DEC>(self.0, &mut x);
        for (x, out) in x.into_iter().zip(blocks.get_out().iter_mut()) {
            store(x, out);
        }
    }
}

/// The 32 rounds `X[i+4] = X[i] ^ T(X[i+1] ^ X[i+2] ^ X[i+3] ^ rk[i])` over `N` blocks.
/// The first and last four rounds, whose inputs are the closest to the known plaintext
/// and ciphertext, look up the 256-byte S-box ([`t_small`]) rather than the tables, so
/// the cache line touched gives away the top 2 bits of each byte of their round input
/// rather than 4 (OpenSSL's and Tongsuo's C SM4 make the same mitigation; it costs
/// 15-20% of bulk speed).
#[inline(always)]
fn rounds<const N: usize, const DEC: bool>(rk: &[u32; 32], x: &mut [[u32; 4]; N]) {
    let keys = |i: usize| [i, i + 1, i + 2, i + 3].map(|i| if DEC { rk[31 - i] } else { rk[i] });
    four_rounds(x, keys(0), t_small);
    for i in (4..28).step_by(4) {
        four_rounds(x, keys(i), t);
    }
    four_rounds(x, keys(28), t_small);
}

/// Four rounds with round function `t` over `N` blocks, each a window of four words in
/// which the round with key `k[w]` replaces word `w`. Every block takes a round before
/// any takes the next, so the blocks' lookups overlap; word `w + 3` goes in last as it
/// is the one the previous round has only just produced.
#[inline(always)]
fn four_rounds<const N: usize>(x: &mut [[u32; 4]; N], k: [u32; 4], t: impl Fn(u32) -> u32) {
    for (w, k) in k.into_iter().enumerate() {
        for x in x.iter_mut() {
            x[w] ^= t(x[(w + 1) % 4] ^ x[(w + 2) % 4] ^ k ^ x[(w + 3) % 4]);
        }
    }
}

/// The round function T (S-box, then L) as one lookup per byte in [`T_TABLES`].
#[inline(always)]
fn t(a: u32) -> u32 {
    let byte = |k: u32| usize::from((a >> (24 - 8 * k)) as u8);
    T_TABLES[0][byte(0)] ^ T_TABLES[1][byte(1)] ^ T_TABLES[2][byte(2)] ^ T_TABLES[3][byte(3)]
}

/// The round function T computed as the standard states it, touching only the S-box.
#[inline(always)]
fn t_small(a: u32) -> u32 {
    l(tau(a))
}

/// A block (or key) as four big-endian words.
#[inline(always)]
fn load(block: &Block<Sm4>) -> [u32; 4] {
    core::array::from_fn(|i| u32::from_be_bytes([0, 1, 2, 3].map(|j| block[4 * i + j])))
}

/// The state after the last round, words in reverse order (the transform R).
#[inline(always)]
fn store(x: [u32; 4], out: &mut Block<Sm4>) {
    for (out, x) in out.chunks_exact_mut(4).zip(x.into_iter().rev()) {
        out.copy_from_slice(&x.to_be_bytes());
    }
}

#[cfg(test)]
mod tests;
