//! Known answers from GB/T 32907 and agreement with RustCrypto's `sm4` crate, through the
//! single-block path and the [`LANES`]-block path with a tail.

use super::*;
use crate::test_hex::unhex;
use cipher::generic_array::GenericArray;

const KEY: &str = "0123456789abcdeffedcba9876543210";

/// The fixed parameters printed in the standard, first and last.
#[test]
fn ck_matches_standard() {
    assert_eq!(CK[0], 0x0007_0e15);
    assert_eq!(CK[1], 0x1c23_2a31);
    assert_eq!(CK[31], 0x646b_7279);
}

/// GB/T 32907 Appendix A, example 1, one block at a time and as a full parallel batch.
#[test]
fn standard_example_1() {
    let cipher = Sm4::new_from_slice(&unhex(KEY)).unwrap();
    let plain = GenericArray::clone_from_slice(&unhex(KEY));
    let want = unhex("681edf34d206965e86b3e94f536e4246");
    let mut block = plain;
    cipher.encrypt_block(&mut block);
    assert_eq!(block.to_vec(), want);
    cipher.decrypt_block(&mut block);
    assert_eq!(block, plain);

    let mut blocks = [plain; LANES];
    cipher.encrypt_blocks(&mut blocks);
    assert!(blocks.iter().all(|b| b.to_vec() == want));
    cipher.decrypt_blocks(&mut blocks);
    assert_eq!(blocks, [plain; LANES]);
}

/// GB/T 32907 Appendix A, example 2: the block encrypted 1,000,000 times.
#[test]
fn standard_example_2() {
    let cipher = Sm4::new_from_slice(&unhex(KEY)).unwrap();
    let mut block = GenericArray::clone_from_slice(&unhex(KEY));
    for _ in 0..1_000_000 {
        cipher.encrypt_block(&mut block);
    }
    assert_eq!(block.to_vec(), unhex("595298c7c6fd271f0402f804c33d3f66"));
}

/// Deterministic pseudo-random bytes (splitmix64), so a failure can be replayed.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Random keys and runs of 1 to 3 * LANES + 1 blocks (so the parallel path, the tail and
/// the single-block path all run) give the same ciphertext as the `sm4` crate, and
/// decrypt back.
#[test]
fn agrees_with_sm4_crate() {
    let mut rng = Bytes(0x5eed);
    for _ in 0..64 {
        let mut key = [0u8; 16];
        rng.fill(&mut key);
        let ours = Sm4::new_from_slice(&key).unwrap();
        let theirs = sm4::Sm4::new_from_slice(&key).unwrap();
        for n in 1..=3 * LANES + 1 {
            let mut plain = vec![Block::<Sm4>::default(); n];
            plain.iter_mut().for_each(|b| rng.fill(b));
            let mut want = plain.clone();
            want.iter_mut().for_each(|b| theirs.encrypt_block(b));

            let mut got = plain.clone();
            ours.encrypt_blocks(&mut got);
            assert_eq!(got, want, "key {key:02x?}, {n} blocks");
            ours.decrypt_blocks(&mut got);
            assert_eq!(got, plain, "key {key:02x?}, {n} blocks");

            let mut one = plain[0];
            ours.encrypt_block(&mut one);
            assert_eq!(one, want[0], "key {key:02x?}");
            theirs.decrypt_block(&mut one);
            assert_eq!(one, plain[0], "key {key:02x?}");
        }
    }
}
