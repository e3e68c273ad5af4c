//! Reading and writing the protocol's big-endian integers and length-prefixed vectors.
//! Every read is bounds-checked: malformed input is a `decode_error`, never a panic.

use crate::error::Error;

/// A cursor over one received structure; `what` names it in errors.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Reads `buf`, which holds a `what`.
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, what }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::decode(self.what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    /// The next two-byte integer.
    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// The next three-byte integer.
    pub(crate) fn u24(&mut self) -> Result<usize, Error> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }

    /// A vector with a one-byte length.
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u8()?;
        self.take(n.into())
    }

    /// A vector with a two-byte length.
    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u16()?;
        self.take(n.into())
    }

    /// A vector with a three-byte length.
    pub(crate) fn vec24(&mut self) -> Result<&'a [u8], Error> {
        let n = self.u24()?;
        self.take(n)
    }

    /// Whether everything was read.
    pub(crate) fn rest_is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::decode(self.what))
        }
    }
}

/// Appends a three-byte integer.
pub(crate) fn put_u24(out: &mut Vec<u8>, n: usize) {
    debug_assert!(n < 1 << 24);
    out.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
}

/// Appends `body` with a length prefix of `width` bytes (1, 2 or 3).
pub(crate) fn put_vec(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    match width {
        1 => out.push(body.len() as u8),
        2 => out.extend_from_slice(&(body.len() as u16).to_be_bytes()),
        _ => put_u24(out, body.len()),
    }
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_refuses_short_input() {
        let mut out = Vec::new();
        put_vec(&mut out, 1, b"a");
        put_vec(&mut out, 2, b"bc");
        put_vec(&mut out, 3, b"def");
        let mut r = Reader::new(&out, "test");
        assert_eq!(r.vec8().unwrap(), b"a");
        assert_eq!(r.vec16().unwrap(), b"bc");
        assert_eq!(r.vec24().unwrap(), b"def");
        r.finish().unwrap();
        let mut short = Reader::new(&[0, 5, 1], "test");
        assert!(short.vec16().is_err());
        assert!(Reader::new(&[1], "test").finish().is_err());
    }
}
