use super::*;
use crate::testutil::{arb_meta, sample_meta};
use proptest::prelude::*;

const ID: MessageId = MessageId {
    shard: 1,
    epoch: 2,
    seq: 3,
};

fn id_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    ID.encode(&mut v);
    v
}

fn framed(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut crc_input = vec![kind];
    crc_input.extend_from_slice(payload);
    let mut v = Vec::new();
    v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    v.extend_from_slice(&crc32c::crc32c(&crc_input).to_le_bytes());
    v.push(kind);
    v.extend_from_slice(payload);
    v
}

#[test]
fn crc32c_is_the_castagnoli_polynomial() {
    // RFC 3720 B.4 check value: CRC32C of "123456789".
    assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
}

#[test]
fn exact_bytes_table() {
    let mut deferred = id_bytes();
    deferred.extend_from_slice(&[7, 0, 0, 0, 1]);
    deferred.extend_from_slice(&1000u64.to_le_bytes());
    deferred.extend_from_slice(&[2, 0, 0, 0, 3, 0, 0, 0]);
    deferred.extend_from_slice(b"4xx");
    let mut failed = id_bytes();
    failed.extend_from_slice(&[0, 0, 0, 0, 2, 2, 0, 0, 0]);
    failed.extend_from_slice(b"5x");
    let mut delivered = id_bytes();
    delivered.extend_from_slice(&[1, 0, 0, 0, 0]);

    let cases: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            {
                let mut o = Vec::new();
                encode_done(&mut o, ID);
                o
            },
            framed(KIND_DONE, &id_bytes()),
        ),
        (
            {
                let mut o = Vec::new();
                encode_outcome(&mut o, ID, 1, &Outcome::Delivered);
                o
            },
            framed(KIND_OUTCOME, &delivered),
        ),
        (
            {
                let mut o = Vec::new();
                let d = Outcome::Deferred {
                    next_attempt: 1000,
                    attempts: 2,
                    reply: "4xx".into(),
                };
                encode_outcome(&mut o, ID, 7, &d);
                o
            },
            framed(KIND_OUTCOME, &deferred),
        ),
        (
            {
                let mut o = Vec::new();
                encode_outcome(&mut o, ID, 0, &Outcome::Failed { reply: "5x".into() });
                o
            },
            framed(KIND_OUTCOME, &failed),
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
        let payload = &got[HEADER_LEN..];
        assert!(decode(got[8], payload).is_ok());
    }
}

#[test]
fn message_exact_bytes() {
    let meta = sample_meta(ID, 2);
    let mut got = Vec::new();
    let n = encode_message(&mut got, &meta, b"Hi\r\n");
    assert_eq!(n, got.len());
    let mut p = id_bytes();
    p.extend_from_slice(&1_700_000_000u64.to_le_bytes());
    p.extend_from_slice(&[9, 0, 0, 0]);
    p.extend_from_slice(b"client.ex");
    p.extend_from_slice(&[9, 0, 0, 0]);
    p.extend_from_slice(b"192.0.2.1");
    p.push(0); // no auth user
    p.push(1); // tls
    p.extend_from_slice(&[1, 6, 0, 0, 0]);
    p.extend_from_slice(b"sender");
    p.extend_from_slice(&[9, 0, 0, 0]);
    p.extend_from_slice(b"origin.ex");
    p.extend_from_slice(&[0, 2, 0, 0, 0, 0]); // no size, 8BITMIME, no smtputf8, no ret, no envid, no auth
    p.extend_from_slice(&[2, 0, 0, 0]);
    for i in 0..2u8 {
        p.extend_from_slice(&[1, 2, 0, 0, 0, b'r', b'0' + i, 6, 0, 0, 0]);
        p.extend_from_slice(b"dest.e");
        p.extend_from_slice(&[0x80 | 4, 0]); // NOTIFY=FAILURE, no ORCPT
    }
    p.extend_from_slice(&[4, 0, 0, 0]);
    p.extend_from_slice(b"Hi\r\n");
    assert_eq!(got, framed(KIND_MESSAGE, &p));
    assert_eq!(
        decode(KIND_MESSAGE, &p),
        Ok(Record::Message(meta, &b"Hi\r\n"[..]))
    );
}

#[test]
fn decode_errors_table() {
    let mut trailing = id_bytes();
    trailing.push(0);
    let mut bad_tag = id_bytes();
    bad_tag.extend_from_slice(&[0, 0, 0, 0, 9]);
    let mut bad_utf8 = id_bytes();
    bad_utf8.extend_from_slice(&[0, 0, 0, 0, 2, 1, 0, 0, 0, 0xff]);
    let cases: Vec<(u8, Vec<u8>, DecodeError)> = vec![
        (KIND_DONE, id_bytes()[..17].to_vec(), DecodeError::Truncated),
        (KIND_DONE, trailing, DecodeError::Trailing),
        (KIND_OUTCOME, bad_tag, DecodeError::BadTag),
        (KIND_OUTCOME, bad_utf8, DecodeError::BadUtf8),
        (9, id_bytes(), DecodeError::UnknownKind(9)),
        (KIND_MESSAGE, Vec::new(), DecodeError::Truncated),
    ];
    for (kind, payload, want) in cases {
        assert_eq!(decode(kind, &payload), Err(want), "{payload:?}");
    }
}

#[test]
fn huge_recipient_count_is_not_an_allocation() {
    let meta = sample_meta(ID, 0);
    let mut o = Vec::new();
    encode_message(&mut o, &meta, b"");
    // The recipient count sits right before the (empty) body length: u32 + u32 at the end.
    let at = o.len() - 8;
    o[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decode(KIND_MESSAGE, &o[HEADER_LEN..]),
        Err(DecodeError::Truncated)
    );
}

proptest! {
    #[test]
    fn message_roundtrip(meta in arb_meta(), body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut o = vec![0xAA; 3]; // records are appended after whatever is in the buffer
        let n = encode_message(&mut o, &meta, &body);
        prop_assert_eq!(n, o.len() - 3);
        let len = u32::from_le_bytes([o[3], o[4], o[5], o[6]]) as usize;
        prop_assert_eq!(len, n - HEADER_LEN);
        let got = decode(o[3 + 8], &o[3 + HEADER_LEN..]);
        prop_assert_eq!(got, Ok(Record::Message(meta, &body[..])));
    }

    #[test]
    fn outcome_roundtrip(rcpt: u32, tag in 0u8..3, t: u64, attempts: u32, reply in ".{0,40}") {
        let outcome = match tag {
            0 => Outcome::Delivered,
            1 => Outcome::Deferred { next_attempt: t, attempts, reply },
            _ => Outcome::Failed { reply },
        };
        let mut o = Vec::new();
        encode_outcome(&mut o, ID, rcpt, &outcome);
        prop_assert_eq!(decode(o[8], &o[HEADER_LEN..]), Ok(Record::Outcome { id: ID, rcpt, outcome }));
    }
}

#[test]
fn a_body_in_two_parts_is_stored_as_one() {
    let meta = sample_meta(ID, 2);
    let (mut whole, mut parts) = (Vec::new(), Vec::new());
    let n = encode_message(&mut whole, &meta, b"Received: x\r\nHi\r\n");
    let m = encode_message_parts(&mut parts, &meta, b"Received: x\r\n", b"Hi\r\n");
    assert_eq!((n, &parts), (m, &whole));
}
