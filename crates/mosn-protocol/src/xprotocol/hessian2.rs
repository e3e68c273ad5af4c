//! Just enough Hessian 2.0 for routing Dubbo calls: read strings, read a map of strings
//! (attachments), and skip any other value (arguments) without building it. Plus writing
//! one string, for local error replies. Never panics on bad input; nesting is bounded.

/// Why a Hessian value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HessianError {
    /// The input ended inside a value.
    #[error("hessian2 value truncated")]
    Truncated,
    /// A tag this reader does not know, or a different type than expected.
    #[error("unexpected hessian2 tag 0x{0:02x}")]
    Unexpected(u8),
    /// Values nested deeper than [`MAX_DEPTH`].
    #[error("hessian2 values nested too deep")]
    TooDeep,
}

/// How deep lists, maps and objects may nest before the reader gives up.
pub const MAX_DEPTH: usize = 64;

/// A cursor over Hessian 2.0 bytes.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Field counts of the class definitions seen so far (objects refer to them).
    classes: Vec<usize>,
}

type Result<T> = std::result::Result<T, HessianError>;

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            classes: Vec::new(),
        }
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(HessianError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Result<u8> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(HessianError::Truncated)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(HessianError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(HessianError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u16(&mut self) -> Result<usize> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    /// Reads a string (or null, as empty).
    pub fn read_string(&mut self) -> Result<String> {
        let mut out = String::new();
        let mut tag = self.byte()?;
        if tag == b'N' {
            return Ok(out);
        }
        loop {
            let (len, last) = match tag {
                0x00..=0x1f => (usize::from(tag), true),
                0x30..=0x33 => (
                    (usize::from(tag - 0x30) << 8) + usize::from(self.byte()?),
                    true,
                ),
                b'S' => (self.u16()?, true),
                b'R' => (self.u16()?, false),
                _ => return Err(HessianError::Unexpected(tag)),
            };
            self.utf8_chars(len, &mut out)?;
            if last {
                return Ok(out);
            }
            tag = self.byte()?;
        }
    }

    /// Appends `units` UTF-16 code units' worth of UTF-8 characters.
    fn utf8_chars(&mut self, units: usize, out: &mut String) -> Result<()> {
        // Fast path: service names, methods and versions are ASCII, one byte per unit.
        if let Some(run) = self.buf.get(self.pos..self.pos.saturating_add(units)) {
            if run.is_ascii() {
                out.push_str(std::str::from_utf8(run).unwrap_or_default());
                self.pos += units;
                return Ok(());
            }
        }
        let mut left = units;
        while left > 0 {
            let lead = self.peek()?;
            let (len, width) = match lead {
                0x00..=0x7f => (1, 1),
                0xc0..=0xdf => (2, 1),
                0xe0..=0xef => (3, 1),
                0xf0..=0xf7 => (4, 2),
                _ => return Err(HessianError::Unexpected(lead)),
            };
            let bytes = self.take(len)?;
            out.push_str(&String::from_utf8_lossy(bytes));
            left = left.saturating_sub(width);
        }
        Ok(())
    }

    /// Reads an int (any of Hessian's int encodings).
    pub fn read_int(&mut self) -> Result<i64> {
        let tag = self.byte()?;
        let b = i64::from(tag);
        Ok(match tag {
            0x80..=0xbf => b - 0x90,
            0xc0..=0xcf => ((b - 0xc8) << 8) + i64::from(self.byte()?),
            0xd0..=0xd7 => ((b - 0xd4) << 16) + i64::from(self.u16()? as u16),
            b'I' => {
                let s = self.take(4)?;
                i64::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            }
            _ => return Err(HessianError::Unexpected(tag)),
        })
    }

    /// Reads a map whose string keys map to string values (Dubbo attachments); pairs
    /// with other value types are skipped.
    pub fn read_string_map(&mut self) -> Result<Vec<(String, String)>> {
        let tag = self.byte()?;
        match tag {
            b'H' => {}
            b'M' => self.skip_type()?,
            b'N' => return Ok(Vec::new()),
            _ => return Err(HessianError::Unexpected(tag)),
        }
        let mut out = Vec::new();
        while self.peek()? != b'Z' {
            let key = self.string_or_skip(1)?;
            let value = self.string_or_skip(1)?;
            if let (Some(k), Some(v)) = (key, value) {
                out.push((k, v));
            }
        }
        self.pos += 1;
        Ok(out)
    }

    fn string_or_skip(&mut self, depth: usize) -> Result<Option<String>> {
        match self.peek()? {
            0x00..=0x1f | 0x30..=0x33 | b'S' | b'R' => self.read_string().map(Some),
            _ => self.skip_at(depth).map(|()| None),
        }
    }

    /// Skips one value of any type.
    pub fn skip(&mut self) -> Result<()> {
        self.skip_at(0)
    }

    fn skip_type(&mut self) -> Result<()> {
        match self.peek()? {
            0x00..=0x1f | 0x30..=0x33 | b'S' | b'R' => self.read_string().map(drop),
            _ => self.read_int().map(drop),
        }
    }

    fn skip_until_z(&mut self, depth: usize) -> Result<()> {
        while self.peek()? != b'Z' {
            self.skip_at(depth)?;
        }
        self.pos += 1;
        Ok(())
    }

    fn skip_n(&mut self, n: i64, depth: usize) -> Result<()> {
        for _ in 0..n.max(0) {
            self.skip_at(depth)?;
        }
        Ok(())
    }

    fn skip_at(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(HessianError::TooDeep);
        }
        let d = depth + 1;
        let tag = self.peek()?;
        match tag {
            0x00..=0x1f | 0x30..=0x33 | b'S' | b'R' => return self.read_string().map(drop),
            0x80..=0xbf | 0xc0..=0xcf | 0xd0..=0xd7 | b'I' => return self.read_int().map(drop),
            _ => {}
        }
        self.pos += 1;
        let fixed = |n: usize| n;
        let skip = match tag {
            b'N' | b'T' | b'F' | 0x5b | 0x5c | 0xd8..=0xef => fixed(0),
            0x5d | 0xf0..=0xff => fixed(1),
            0x5e | 0x38..=0x3f => fixed(2),
            0x5f | b'Y' | b'K' => fixed(4),
            b'D' | b'L' | b'J' => fixed(8),
            0x20..=0x2f => usize::from(tag - 0x20),
            0x34..=0x37 => (usize::from(tag - 0x34) << 8) + usize::from(self.byte()?),
            b'B' => self.u16()?,
            b'A' => {
                let n = self.u16()?;
                self.take(n)?;
                return self.skip_at(d);
            }
            b'H' => return self.skip_until_z(d),
            b'M' => {
                self.skip_type()?;
                return self.skip_until_z(d);
            }
            b'U' => {
                self.skip_type()?;
                return self.skip_until_z(d);
            }
            b'W' => return self.skip_until_z(d),
            b'V' => {
                self.skip_type()?;
                let n = self.read_int()?;
                return self.skip_n(n, d);
            }
            b'X' => {
                let n = self.read_int()?;
                return self.skip_n(n, d);
            }
            0x70..=0x77 => {
                self.skip_type()?;
                return self.skip_n(i64::from(tag - 0x70), d);
            }
            0x78..=0x7f => return self.skip_n(i64::from(tag - 0x78), d),
            b'C' => {
                self.read_string()?;
                let n = self.read_int()?;
                for _ in 0..n.max(0) {
                    self.read_string()?;
                }
                self.classes.push(usize::try_from(n).unwrap_or(0));
                // A definition is followed by the value that uses it.
                return self.skip_at(d);
            }
            b'O' | 0x60..=0x6f => {
                let def = if tag == b'O' {
                    usize::try_from(self.read_int()?).map_err(|_| HessianError::Unexpected(tag))?
                } else {
                    usize::from(tag - 0x60)
                };
                let fields = *self.classes.get(def).ok_or(HessianError::Unexpected(tag))?;
                for _ in 0..fields {
                    self.skip_at(d)?;
                }
                return Ok(());
            }
            b'Q' => return self.read_int().map(drop),
            _ => return Err(HessianError::Unexpected(tag)),
        };
        self.take(skip).map(drop)
    }
}

/// Writes `s` as one Hessian string (chunked above 32k UTF-16 units).
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    let units: Vec<(usize, usize)> = s.char_indices().map(|(i, c)| (i, c.len_utf16())).collect();
    let mut start = 0; // index into `units`
    loop {
        let mut n = 0;
        let mut end = start;
        while end < units.len() && n + units[end].1 <= 0x8000 {
            n += units[end].1;
            end += 1;
        }
        let last = end == units.len();
        let from = units.get(start).map_or(s.len(), |u| u.0);
        let to = units.get(end).map_or(s.len(), |u| u.0);
        match n {
            _ if !last => {
                out.push(b'R');
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            0..=31 => out.push(n as u8),
            32..=1023 => out.extend_from_slice(&[0x30 + (n >> 8) as u8, n as u8]),
            _ => {
                out.push(b'S');
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(&s.as_bytes()[from..to]);
        if last {
            return;
        }
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_in_every_length_class() {
        for s in [
            "",
            "a",
            &"x".repeat(31),
            &"y".repeat(32),
            &"é".repeat(1024),
            &"z".repeat(70_000),
        ] {
            let mut b = Vec::new();
            write_string(s, &mut b);
            let mut r = Reader::new(&b);
            assert_eq!(r.read_string().unwrap(), s);
            assert!(r.is_empty());
        }
    }

    #[test]
    fn skips_nested_values_and_reads_a_string_map() {
        // [1, {"k": [true, 2.0]}], then an object via a class definition, then a map.
        let mut b = vec![0x7a, 0x91, b'H', 0x01, b'k', 0x7a, b'T', 0x5c, b'Z'];
        b.extend_from_slice(&[
            b'C', 0x03, b'P', b'o', b'j', 0x91, 0x01, b'n', 0x60, 0x02, b'h', b'i',
        ]);
        b.extend_from_slice(&[b'H', 0x01, b'g', 0x01, b'G', 0x01, b'n', 0x91, b'Z']);
        let mut r = Reader::new(&b);
        r.skip().unwrap();
        r.skip().unwrap();
        assert_eq!(r.read_string_map().unwrap(), vec![("g".into(), "G".into())]);
        assert!(r.is_empty());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(
            Reader::new(&[0x05, b'a']).read_string(),
            Err(HessianError::Truncated)
        );
        assert_eq!(
            Reader::new(&[0x60]).skip(),
            Err(HessianError::Unexpected(0x60))
        );
        let deep = vec![b'W'; 1000];
        assert_eq!(Reader::new(&deep).skip(), Err(HessianError::TooDeep));
        assert_eq!(
            Reader::new(&[b'V', 0x01, b'x', b'I']).skip(),
            Err(HessianError::Truncated)
        );
    }
}
