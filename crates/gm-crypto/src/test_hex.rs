//! Hex decoding for the known-answer tests (vectors are printed in hex in the standards).

/// Bytes of a hex string; whitespace is ignored so vectors can be pasted as printed.
pub fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}
