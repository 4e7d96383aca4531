//! Reply parser properties: the replies do not depend on how the bytes were split into
//! reads, and no input makes the parser panic or buffer without bound.

use proptest::prelude::*;
use tern_proto::client::{ReplyError, ReplyParser, MAX_LINE};
use tern_proto::Reply;

type Parsed = Vec<Result<Reply, ReplyError>>;

fn parse_split(input: &[u8], cuts: &[usize]) -> Parsed {
    let mut p = ReplyParser::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for end in points {
        p.feed(&input[at..end]);
        at = end;
        while let Some(r) = p.next_reply() {
            out.push(r);
        }
    }
    out
}

fn parse_whole(input: &[u8]) -> Parsed {
    parse_split(input, &[])
}

/// Reply-shaped lines: mostly valid, sometimes not, so splits land everywhere that matters.
fn reply_bytes() -> impl Strategy<Value = Vec<u8>> {
    let line = (
        prop::sample::select(vec!["250", "251", "354", "421", "550", "25x", "999"]),
        prop::sample::select(vec![" ", "-", "", "x"]),
        prop::sample::select(vec!["", "2.1.0 ", "5.1.1 ", "4.7.0", "Ok", "mx.example"]),
        "[ -~]{0,20}",
        prop::sample::select(vec!["\r\n", "\n"]),
    )
        .prop_map(|(c, sep, e, t, end)| format!("{c}{sep}{e}{t}{end}"));
    prop::collection::vec(line, 0..12).prop_map(|ls| ls.concat().into_bytes())
}

proptest! {
    #[test]
    fn any_split_gives_the_same_replies(
        input in reply_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        prop_assert_eq!(parse_split(&input, &cuts), parse_whole(&input));
    }

    #[test]
    fn byte_at_a_time_gives_the_same_replies(input in reply_bytes()) {
        let cuts: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(parse_split(&input, &cuts), parse_whole(&input));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_split_does_not_matter(
        input in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        prop_assert_eq!(parse_split(&input, &cuts), parse_whole(&input));
    }

    #[test]
    fn long_lines_split_anywhere_give_the_same_replies(
        len in (MAX_LINE - 3)..(MAX_LINE + 3),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let mut input = b"250 ".to_vec();
        input.resize(len, b'a');
        input.extend_from_slice(b"\r\n250 Ok\r\n");
        let whole = parse_whole(&input);
        prop_assert_eq!(whole.len(), 2);
        prop_assert_eq!(parse_split(&input, &cuts), whole);
    }

    #[test]
    fn written_replies_parse_back(
        code in 200u16..600,
        text in prop::collection::vec("[!-~][ -~]{0,30}", 1..5),
        enhanced in any::<bool>(),
    ) {
        // What tern's own reply writer sends, the client reads back unchanged.
        let class = u8::try_from(code / 100).unwrap();
        // RFC 3463 has no class 3: a 3xx reply never carries an enhanced code.
        let e = (enhanced && class != 3).then_some(tern_proto::Enhanced(class, 1, 2));
        prop_assume!(!text.iter().any(|t| t.starts_with(&format!("{class}."))));
        let reply = Reply::new(code, e, text.join("\n"));
        let got = parse_whole(&reply.to_bytes(true));
        prop_assert_eq!(got, vec![Ok(reply)]);
    }
}

#[test]
fn buffer_stays_bounded_under_an_endless_line() {
    let mut p = ReplyParser::new();
    let chunk = vec![b'x'; 1000];
    p.feed(b"250 ");
    let mut errors = 0;
    for _ in 0..1000 {
        p.feed(&chunk);
        while let Some(r) = p.next_reply() {
            assert_eq!(r, Err(ReplyError::LineTooLong));
            errors += 1;
        }
        assert!(p.buffered() <= MAX_LINE + chunk.len());
    }
    assert_eq!(errors, 1);
}
