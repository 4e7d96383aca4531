//! Iterate the records in a segment's bytes, and say where and why the good part ends.
//!
//! The scanner trusts nothing: a record counts only when its whole frame is present and its
//! CRC matches. It never skips ahead past a bad record, because after a bad `len` there is
//! no way to know where the next record would start; everything from the first bad byte
//! on is the tail. Recovery cuts that tail off the last segment; anywhere else it is
//! corruption (see `shard.rs`).

use crate::record::{HEADER_LEN, MAX_PAYLOAD};

/// One well-framed record: its CRC matched. Its payload is not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// Where the record's frame starts in the buffer.
    pub offset: usize,
    /// The kind byte.
    pub kind: u8,
    /// The payload (after the kind byte).
    pub payload: &'a [u8],
}

impl RawRecord<'_> {
    /// The framed length: header plus payload.
    pub fn framed_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// How the buffer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// The last record ended exactly at the end of the buffer.
    Clean,
    /// The buffer ends inside the record that starts at `offset`: a write that did not
    /// finish (or, for a live segment, one still in flight).
    Torn {
        /// Where the incomplete record starts.
        offset: usize,
    },
    /// The record at `offset` is whole by its length but its CRC does not match, or its
    /// length is impossible.
    Corrupt {
        /// Where the bad record starts.
        offset: usize,
    },
}

impl Tail {
    /// The offset where the good records end (the buffer length when clean).
    pub fn good_len(&self, buf_len: usize) -> usize {
        match *self {
            Tail::Clean => buf_len,
            Tail::Torn { offset } | Tail::Corrupt { offset } => offset,
        }
    }
}

/// Finds the first offset after `bad` where a whole, CRC-valid record starts: how recovery
/// steps over a damaged record in the middle of a segment instead of discarding every
/// good record behind it. A false match needs a known kind byte, a length that fits and a
/// matching CRC32C over the frame at the same time.
pub fn resync(buf: &[u8], bad: usize) -> Option<usize> {
    let last = buf.len().checked_sub(HEADER_LEN)?;
    (bad + 1..=last).find(|&off| {
        let h = &buf[off..off + HEADER_LEN];
        if !(1..=3).contains(&h[8]) {
            return false;
        }
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        len <= MAX_PAYLOAD
            && buf
                .get(off + 8..off + HEADER_LEN + len as usize)
                .is_some_and(|f| crc32c::crc32c(f) == crc)
    })
}

/// An iterator over the good records of a buffer; [`Scanner::tail`] says how it ended.
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
    tail: Option<Tail>,
}

impl<'a> Scanner<'a> {
    /// Scans `buf` from its start.
    pub fn new(buf: &'a [u8]) -> Scanner<'a> {
        Scanner {
            buf,
            pos: 0,
            tail: None,
        }
    }

    /// How the buffer ended; scans to the end first if the iterator was not exhausted.
    pub fn tail(&mut self) -> Tail {
        while self.tail.is_none() {
            self.next();
        }
        self.tail.unwrap_or(Tail::Clean)
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = RawRecord<'a>;

    fn next(&mut self) -> Option<RawRecord<'a>> {
        if self.tail.is_some() {
            return None;
        }
        let offset = self.pos;
        let rest = &self.buf[offset..];
        if rest.is_empty() {
            self.tail = Some(Tail::Clean);
            return None;
        }
        let Some(header) = rest.get(..HEADER_LEN) else {
            self.tail = Some(Tail::Torn { offset });
            return None;
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_PAYLOAD {
            self.tail = Some(Tail::Corrupt { offset });
            return None;
        }
        let end = HEADER_LEN + len as usize;
        let Some(frame) = rest.get(..end) else {
            self.tail = Some(Tail::Torn { offset });
            return None;
        };
        if crc32c::crc32c(&frame[8..]) != crc {
            self.tail = Some(Tail::Corrupt { offset });
            return None;
        }
        self.pos += end;
        Some(RawRecord {
            offset,
            kind: frame[8],
            payload: &frame[HEADER_LEN..],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{encode_done, encode_message, encode_outcome, Outcome};
    use crate::testutil::{id, sample_meta};

    /// A buffer of mixed records and the offsets where each one ends.
    fn sample() -> (Vec<u8>, Vec<usize>) {
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for i in 0..4u64 {
            encode_message(
                &mut buf,
                &sample_meta(id(i), 2),
                &vec![b'x'; 40 * i as usize],
            );
            ends.push(buf.len());
            encode_outcome(
                &mut buf,
                id(i),
                1,
                &Outcome::Failed {
                    reply: "550 no".into(),
                },
            );
            ends.push(buf.len());
        }
        encode_done(&mut buf, id(0));
        ends.push(buf.len());
        (buf, ends)
    }

    #[test]
    fn resync_finds_the_next_whole_record_after_damage() {
        let (buf, ends) = sample();
        for (i, &end) in ends.iter().enumerate().take(ends.len() - 1) {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            for at in start..end {
                let mut b = buf.clone();
                b[at] ^= 0x01;
                assert_eq!(resync(&b, start), Some(end), "record {i}, byte {at}");
            }
        }
        // Damage in the last record: nothing whole follows.
        let mut b = buf.clone();
        let last_start = ends[ends.len() - 2];
        b[last_start + 10] ^= 0x01;
        assert_eq!(resync(&b, last_start), None);
    }

    #[test]
    fn clean_buffer_yields_every_record() {
        let (buf, ends) = sample();
        let mut s = Scanner::new(&buf);
        let got: Vec<usize> = s.by_ref().map(|r| r.offset + r.framed_len()).collect();
        assert_eq!(got, ends);
        assert_eq!(s.tail(), Tail::Clean);
        assert_eq!(Scanner::new(&[]).tail(), Tail::Clean);
    }

    #[test]
    fn torn_tail_at_every_truncation_offset() {
        let (buf, ends) = sample();
        for cut in 0..=buf.len() {
            let mut s = Scanner::new(&buf[..cut]);
            let got: Vec<usize> = s.by_ref().map(|r| r.offset + r.framed_len()).collect();
            let want: Vec<usize> = ends.iter().copied().filter(|&e| e <= cut).collect();
            assert_eq!(got, want, "cut at {cut}");
            let good = want.last().copied().unwrap_or(0);
            let tail = s.tail();
            if good == cut {
                assert_eq!(tail, Tail::Clean, "cut at {cut}");
            } else {
                assert_eq!(tail, Tail::Torn { offset: good }, "cut at {cut}");
            }
            assert_eq!(tail.good_len(cut), good);
        }
    }

    #[test]
    fn flipped_byte_anywhere_is_detected() {
        let (buf, ends) = sample();
        for at in 0..buf.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = buf.clone();
                bad[at] ^= bit;
                let mut s = Scanner::new(&bad);
                let got: Vec<usize> = s.by_ref().map(|r| r.offset + r.framed_len()).collect();
                // Every record before the damaged one survives, the damaged one does not.
                let start = ends.iter().copied().rfind(|&e| e <= at).unwrap_or(0);
                let want: Vec<usize> = ends.iter().copied().filter(|&e| e <= start).collect();
                assert_eq!(got, want, "flip {bit:#x} at {at}");
                match s.tail() {
                    Tail::Torn { offset } | Tail::Corrupt { offset } => {
                        assert_eq!(offset, start, "flip at {at}")
                    }
                    Tail::Clean => panic!("flip at {at} went unnoticed"),
                }
            }
        }
    }

    #[test]
    fn impossible_length_is_corrupt_not_torn() {
        let mut buf = (MAX_PAYLOAD + 1).to_le_bytes().to_vec();
        buf.extend_from_slice(&[0; 20]);
        assert_eq!(Scanner::new(&buf).tail(), Tail::Corrupt { offset: 0 });
        // Zeros (a file extended but never written) are corrupt: crc32c([0]) != 0.
        assert_eq!(Scanner::new(&[0; 32]).tail(), Tail::Corrupt { offset: 0 });
    }
}
