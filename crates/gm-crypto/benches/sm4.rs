//! This crate's SM4 against RustCrypto's `sm4` crate: raw block encryption (16 KiB of
//! blocks, and one block alone as CCM's CBC-MAC and CBC encryption use it), and 16 KiB
//! (one full TLS record) GCM and CCM seals and CBC decryption, the same mode code over
//! either cipher.
//!
//! `cargo bench -p gm-crypto --bench sm4` (add `-- --quick` for a fast pass).

use aes_gcm::aead::{AeadInPlace, KeyInit};
use cipher::consts::{U12, U16};
use cipher::{Block, BlockCipher, BlockDecrypt, BlockDecryptMut, BlockEncrypt, KeyIvInit};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use gm_crypto::sm4::{Sm4, Sm4Ccm, Sm4Gcm};

const RECORD: usize = 16 * 1024;
const KEY: [u8; 16] = *b"0123456789abcdef";
const NONCE: [u8; 12] = [7; 12];
const IV: [u8; 16] = [7; 16];

/// Times `cipher` over one record of blocks and over a single block.
fn blocks<C: BlockEncrypt + KeyInit>(c: &mut Criterion, name: &str) {
    let cipher = C::new_from_slice(&KEY).unwrap();
    let mut g = c.benchmark_group("sm4_blocks_16k");
    g.throughput(Throughput::Bytes(RECORD as u64));
    let mut buf = vec![Block::<C>::default(); RECORD / C::block_size()];
    g.bench_function(name, |b| {
        b.iter(|| cipher.encrypt_blocks(black_box(&mut buf)))
    });
    g.finish();
    let mut g = c.benchmark_group("sm4_one_block");
    let mut block = Block::<C>::default();
    g.bench_function(name, |b| {
        b.iter(|| cipher.encrypt_block(black_box(&mut block)))
    });
    g.finish();
}

/// Times one record sealed (encrypt + tag) by the AEAD `A`.
fn seal<A: AeadInPlace<NonceSize = U12> + KeyInit>(c: &mut Criterion, group: &str, name: &str) {
    let aead = A::new_from_slice(&KEY).unwrap();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Bytes(RECORD as u64));
    let mut buf = vec![0u8; RECORD];
    g.bench_function(name, |b| {
        b.iter(|| {
            aead.encrypt_in_place_detached((&NONCE).into(), b"aad", black_box(&mut buf))
                .unwrap()
        })
    });
    g.finish();
}

/// Times one record decrypted by CBC over `C`.
fn cbc_decrypt<C: BlockDecrypt + BlockCipher + KeyInit>(c: &mut Criterion, name: &str) {
    let mut g = c.benchmark_group("sm4_cbc_decrypt_16k");
    g.throughput(Throughput::Bytes(RECORD as u64));
    let mut buf = vec![Block::<C>::default(); RECORD / C::block_size()];
    g.bench_function(name, |b| {
        b.iter(|| {
            let mut dec = cbc::Decryptor::<C>::new_from_slices(&KEY, &IV).unwrap();
            dec.decrypt_blocks_mut(black_box(&mut buf))
        })
    });
    g.finish();
}

fn sm4(c: &mut Criterion) {
    blocks::<sm4::Sm4>(c, "sm4_crate");
    blocks::<Sm4>(c, "gm_crypto");
    seal::<aes_gcm::AesGcm<sm4::Sm4, U12>>(c, "sm4_gcm_seal_16k", "sm4_crate");
    seal::<Sm4Gcm>(c, "sm4_gcm_seal_16k", "gm_crypto");
    seal::<ccm::Ccm<sm4::Sm4, U16, U12>>(c, "sm4_ccm_seal_16k", "sm4_crate");
    seal::<Sm4Ccm>(c, "sm4_ccm_seal_16k", "gm_crypto");
    cbc_decrypt::<sm4::Sm4>(c, "sm4_crate");
    cbc_decrypt::<Sm4>(c, "gm_crypto");
}

criterion_group!(benches, sm4);
criterion_main!(benches);
