//! One table for the whole command grammar: each line is an input and either the command it
//! parses to or the exact reply bytes its error produces (with enhanced codes on).

use super::*;
use crate::address::Mailbox;
use crate::params::{BodyType, Notify, Orcpt, Ret};

enum Want {
    Ok(Command),
    Err(&'static [u8]),
}
use Want::{Err as E, Ok as C};

fn mbox(local: &str, domain: &str) -> Mailbox {
    Mailbox::from_parts(local, domain)
}

fn mail(local: &str, domain: &str, params: MailParams) -> Want {
    C(Command::Mail {
        from: ReversePath::Mailbox(mbox(local, domain)),
        params,
    })
}

fn rcpt(local: &str, domain: &str, params: RcptParams) -> Want {
    C(Command::Rcpt {
        to: ForwardPath::Mailbox(mbox(local, domain)),
        params,
    })
}

fn s(v: &str) -> String {
    v.to_owned()
}

const UNKNOWN: &[u8] = b"500 5.5.1 Command unrecognized\r\n";
const BAD_SENDER: &[u8] = b"501 5.1.7 Bad sender address syntax\r\n";
const BAD_RCPT: &[u8] = b"501 5.1.3 Bad recipient address syntax\r\n";
const UNKNOWN_PARAM: &[u8] = b"555 5.5.4 Unsupported parameter\r\n";
const MAIL_SYNTAX: &[u8] = b"501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n";
const RCPT_SYNTAX: &[u8] = b"501 5.5.4 Syntax: RCPT TO:<address> [parameters]\r\n";
const EHLO_SYNTAX: &[u8] = b"501 5.5.4 Syntax: EHLO hostname\r\n";
const BDAT_SYNTAX: &[u8] = b"501 5.5.4 Syntax: BDAT size [LAST]\r\n";

fn table() -> Vec<(&'static [u8], Want)> {
    let none = MailParams::default;
    let rnone = RcptParams::default;
    vec![
        // --- verbs, case and spacing ---
        (b"DATA", C(Command::Data)),
        // A space before the fifth byte: no 4-letter verb, whatever the fifth byte is.
        (b"DA A x", E(UNKNOWN)),
        (b"DAT  x", E(UNKNOWN)),
        (b" DATA", E(UNKNOWN)),
        (b"DATA\t", C(Command::Data)),
        (b"DATAX", E(UNKNOWN)),
        (b"data", C(Command::Data)),
        (b"DATA  \t", C(Command::Data)),
        (b"DATA x", E(b"501 5.5.4 Syntax: DATA\r\n")),
        (b"RSET", C(Command::Rset)),
        (b"RSET now", E(b"501 5.5.4 Syntax: RSET\r\n")),
        (b"QUIT", C(Command::Quit)),
        (b"QuIt please", E(b"501 5.5.4 Syntax: QUIT\r\n")),
        (b"STARTTLS", C(Command::StartTls)),
        (b"starttls x", E(b"501 5.5.4 Syntax: STARTTLS\r\n")),
        (b"TURN", C(Command::Turn)),
        (b"TURN x", E(b"501 5.5.4 Syntax: TURN\r\n")),
        (b"NOOP", C(Command::Noop)),
        (b"noop anything \xff at all", C(Command::Noop)),
        (b"HELP", C(Command::Help(None))),
        (b"HELP mail", C(Command::Help(Some(s("mail"))))),
        (b"HELP \xff", E(b"501 5.5.4 Syntax: HELP [topic]\r\n")),
        (b"VRFY postmaster", C(Command::Vrfy(s("postmaster")))),
        (b"VRFY  John Smith ", C(Command::Vrfy(s("John Smith")))),
        (b"VRFY", E(b"501 5.5.4 Syntax: VRFY string\r\n")),
        (b"EXPN staff", C(Command::Expn(s("staff")))),
        (b"EXPN ", E(b"501 5.5.4 Syntax: EXPN string\r\n")),
        (b"", E(UNKNOWN)),
        (b"FOO", E(UNKNOWN)),
        (b"MAILX FROM:<a@b>", E(UNKNOWN)),
        (b" DATA", E(UNKNOWN)),
        (b"STARTTLSX", E(UNKNOWN)),
        (b"XXXXXXXXXXXXXXXXXXXXX", E(UNKNOWN)),
        (b"LHLO x", E(UNKNOWN)),
        // --- HELO / EHLO ---
        (
            b"EHLO client.example",
            C(Command::Ehlo(s("client.example"))),
        ),
        (
            b"ehlo Client.Example",
            C(Command::Ehlo(s("Client.Example"))),
        ),
        (b"EHLO [192.0.2.1]", C(Command::Ehlo(s("[192.0.2.1]")))),
        (
            b"EHLO [IPv6:2001:db8::1]",
            C(Command::Ehlo(s("[IPv6:2001:db8::1]"))),
        ),
        (b"EHLO my_pc.lan", C(Command::Ehlo(s("my_pc.lan")))),
        (b"HELO localhost", C(Command::Helo(s("localhost")))),
        (b"EHLO", E(EHLO_SYNTAX)),
        (b"EHLO ", E(EHLO_SYNTAX)),
        (b"EHLO two words", E(EHLO_SYNTAX)),
        (b"EHLO -bad.example", E(EHLO_SYNTAX)),
        (b"EHLO [300.1.1.1]", E(EHLO_SYNTAX)),
        (b"HELO", E(b"501 5.5.4 Syntax: HELO hostname\r\n")),
        // --- MAIL ---
        (
            b"MAIL FROM:<user@example.com>",
            mail("user", "example.com", none()),
        ),
        (
            b"mail from:<user@example.com>",
            mail("user", "example.com", none()),
        ),
        (
            b"MAIL FROM: <user@example.com>",
            mail("user", "example.com", none()),
        ),
        (
            b"MAIL FROM:   <user@example.com>  ",
            mail("user", "example.com", none()),
        ),
        (
            b"MAIL  FROM:<user@example.com>",
            mail("user", "example.com", none()),
        ),
        (
            b"MAIL FROM:<>",
            C(Command::Mail {
                from: ReversePath::Null,
                params: none(),
            }),
        ),
        (
            b"MAIL FROM:<@relay.example,@b.example:user@example.com>",
            mail("user", "example.com", none()),
        ),
        (
            b"MAIL FROM:<\"john doe\"@example.com>",
            mail("\"john doe\"", "example.com", none()),
        ),
        (
            b"MAIL FROM:<user@[192.0.2.1]>",
            mail("user", "[192.0.2.1]", none()),
        ),
        (b"MAIL FROM:user@example.com", E(MAIL_SYNTAX)),
        (b"MAIL FROM:", E(MAIL_SYNTAX)),
        (b"MAIL", E(MAIL_SYNTAX)),
        (b"MAIL TO:<a@b>", E(MAIL_SYNTAX)),
        (b"MAIL FROM :<a@b>", E(MAIL_SYNTAX)),
        (b"MAIL FROM:<a@b>SIZE=1", E(MAIL_SYNTAX)),
        (b"MAIL FROM:<a@b", E(BAD_SENDER)),
        (b"MAIL FROM:<a b@c>", E(BAD_SENDER)),
        (b"MAIL FROM:<Postmaster>", E(BAD_SENDER)),
        (b"MAIL FROM:<a@b\xff>", E(BAD_SENDER)),
        (
            b"MAIL FROM:<j\xc3\xb6rg@b\xc3\xbccher.example>",
            mail("j\u{f6}rg", "b\u{fc}cher.example", none()),
        ),
        // --- MAIL parameters ---
        (
            b"MAIL FROM:<a@b> SIZE=12345",
            mail(
                "a",
                "b",
                MailParams {
                    size: Some(12345),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> size=0",
            mail(
                "a",
                "b",
                MailParams {
                    size: Some(0),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b>   SIZE=1   BODY=8bitmime",
            mail(
                "a",
                "b",
                MailParams {
                    size: Some(1),
                    body: Some(BodyType::EightBitMime),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=18446744073709551615",
            mail(
                "a",
                "b",
                MailParams {
                    size: Some(u64::MAX),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=18446744073709551616",
            E(b"501 5.5.4 SIZE requires a decimal number of octets\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=+1",
            E(b"501 5.5.4 SIZE requires a decimal number of octets\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SIZE",
            E(b"501 5.5.4 SIZE requires a decimal number of octets\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=",
            E(b"501 5.5.4 SIZE requires a decimal number of octets\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=1 SIZE=2",
            E(b"501 5.5.4 Duplicate SIZE parameter\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> BODY=7BIT",
            mail(
                "a",
                "b",
                MailParams {
                    body: Some(BodyType::SevenBit),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> BODY=BinaryMIME",
            mail(
                "a",
                "b",
                MailParams {
                    body: Some(BodyType::BinaryMime),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> BODY=9BIT",
            E(b"501 5.5.4 BODY must be 7BIT, 8BITMIME or BINARYMIME\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> BODY=7BIT BODY=7BIT",
            E(b"501 5.5.4 Duplicate BODY parameter\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SMTPUTF8",
            mail(
                "a",
                "b",
                MailParams {
                    smtputf8: true,
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> SMTPUTF8=yes",
            E(b"501 5.5.4 SMTPUTF8 takes no value\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> smtputf8 SMTPUTF8",
            E(b"501 5.5.4 Duplicate SMTPUTF8 parameter\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> RET=hdrs",
            mail(
                "a",
                "b",
                MailParams {
                    ret: Some(Ret::Hdrs),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> RET=FULL",
            mail(
                "a",
                "b",
                MailParams {
                    ret: Some(Ret::Full),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> RET=ALL",
            E(b"501 5.5.4 RET must be FULL or HDRS\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> RET=FULL RET=FULL",
            E(b"501 5.5.4 Duplicate RET parameter\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> ENVID=QQ+2B314",
            mail(
                "a",
                "b",
                MailParams {
                    envid: Some(s("QQ+314")),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> ENVID=a+2",
            E(b"501 5.5.4 ENVID must be xtext of at most 100 characters\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> ENVID=",
            E(b"501 5.5.4 ENVID must be xtext of at most 100 characters\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> ENVID=x ENVID=y",
            E(b"501 5.5.4 Duplicate ENVID parameter\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> AUTH=<>",
            mail(
                "a",
                "b",
                MailParams {
                    auth: Some(s("<>")),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> AUTH=e+2Bf@example.com",
            mail(
                "a",
                "b",
                MailParams {
                    auth: Some(s("e+f@example.com")),
                    ..none()
                },
            ),
        ),
        (
            b"MAIL FROM:<a@b> AUTH=",
            E(b"501 5.5.4 AUTH must be xtext or <>\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> AUTH=<> AUTH=<>",
            E(b"501 5.5.4 Duplicate AUTH parameter\r\n"),
        ),
        (b"MAIL FROM:<a@b> FOO=bar", E(UNKNOWN_PARAM)),
        (b"MAIL FROM:<a@b> NOTIFY=NEVER", E(UNKNOWN_PARAM)),
        (
            b"MAIL FROM:<a@b> =x",
            E(b"501 5.5.4 Bad parameter syntax, expected KEYWORD[=VALUE]\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SIZE=1=2",
            E(b"501 5.5.4 SIZE requires a decimal number of octets\r\n"),
        ),
        (
            b"MAIL FROM:<a@b> SI_ZE=1",
            E(b"501 5.5.4 Bad parameter syntax, expected KEYWORD[=VALUE]\r\n"),
        ),
        // --- RCPT ---
        (
            b"RCPT TO:<user@example.com>",
            rcpt("user", "example.com", rnone()),
        ),
        (
            b"rcpt to: <user@example.com>",
            rcpt("user", "example.com", rnone()),
        ),
        (
            b"RCPT TO:<Postmaster>",
            C(Command::Rcpt {
                to: ForwardPath::Postmaster,
                params: rnone(),
            }),
        ),
        (
            b"RCPT TO:<postMASTER>",
            C(Command::Rcpt {
                to: ForwardPath::Postmaster,
                params: rnone(),
            }),
        ),
        (
            b"RCPT TO:<postmaster@example.com>",
            rcpt("postmaster", "example.com", rnone()),
        ),
        (
            b"RCPT TO:<@hop.example:user@example.com>",
            rcpt("user", "example.com", rnone()),
        ),
        (b"RCPT TO:<>", E(BAD_RCPT)),
        (b"RCPT TO:<user>", E(BAD_RCPT)),
        (b"RCPT TO:<user@>", E(BAD_RCPT)),
        (b"RCPT TO:user@example.com", E(RCPT_SYNTAX)),
        (b"RCPT FROM:<a@b>", E(RCPT_SYNTAX)),
        (b"RCPT", E(RCPT_SYNTAX)),
        (b"RCPT TO:<a@b>x", E(RCPT_SYNTAX)),
        // --- RCPT parameters ---
        (
            b"RCPT TO:<a@b> NOTIFY=NEVER",
            rcpt(
                "a",
                "b",
                RcptParams {
                    notify: Some(Notify {
                        never: true,
                        ..Notify::default()
                    }),
                    ..rnone()
                },
            ),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=success,Delay",
            rcpt(
                "a",
                "b",
                RcptParams {
                    notify: Some(Notify {
                        success: true,
                        delay: true,
                        ..Notify::default()
                    }),
                    ..rnone()
                },
            ),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=FAILURE",
            rcpt(
                "a",
                "b",
                RcptParams {
                    notify: Some(Notify {
                        failure: true,
                        ..Notify::default()
                    }),
                    ..rnone()
                },
            ),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS",
            E(b"501 5.5.4 NOTIFY=NEVER cannot be combined with other values\r\n"),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=DELAY,NEVER",
            E(b"501 5.5.4 NOTIFY=NEVER cannot be combined with other values\r\n"),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=SOMETIMES",
            E(b"501 5.5.4 NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY\r\n"),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=SUCCESS,",
            E(b"501 5.5.4 NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY\r\n"),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY",
            E(b"501 5.5.4 NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY\r\n"),
        ),
        (
            b"RCPT TO:<a@b> NOTIFY=DELAY NOTIFY=DELAY",
            E(b"501 5.5.4 Duplicate NOTIFY parameter\r\n"),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822;joe+40example.com",
            rcpt(
                "a",
                "b",
                RcptParams {
                    orcpt: Some(Orcpt {
                        addr_type: s("rfc822"),
                        addr: s("joe@example.com"),
                    }),
                    ..rnone()
                },
            ),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822",
            E(b"501 5.5.4 ORCPT must be addr-type;xtext of at most 500 characters\r\n"),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=;x",
            E(b"501 5.5.4 ORCPT must be addr-type;xtext of at most 500 characters\r\n"),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822;",
            E(b"501 5.5.4 ORCPT must be addr-type;xtext of at most 500 characters\r\n"),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822;a+zz",
            E(b"501 5.5.4 ORCPT must be addr-type;xtext of at most 500 characters\r\n"),
        ),
        (
            b"RCPT TO:<a@b> ORCPT=rfc822;a ORCPT=rfc822;a",
            E(b"501 5.5.4 Duplicate ORCPT parameter\r\n"),
        ),
        (b"RCPT TO:<a@b> SIZE=10", E(UNKNOWN_PARAM)),
        (b"RCPT TO:<a@b> XFOO", E(UNKNOWN_PARAM)),
        // --- BDAT ---
        (
            b"BDAT 1000",
            C(Command::Bdat {
                size: 1000,
                last: false,
            }),
        ),
        (
            b"bdat 0 last",
            C(Command::Bdat {
                size: 0,
                last: true,
            }),
        ),
        (
            b"BDAT 18446744073709551615 LAST",
            C(Command::Bdat {
                size: u64::MAX,
                last: true,
            }),
        ),
        (b"BDAT", E(BDAT_SYNTAX)),
        (b"BDAT -1", E(BDAT_SYNTAX)),
        (b"BDAT +1", E(BDAT_SYNTAX)),
        (b"BDAT 1x", E(BDAT_SYNTAX)),
        (b"BDAT 18446744073709551616", E(BDAT_SYNTAX)),
        (b"BDAT 10 LASTX", E(BDAT_SYNTAX)),
        (b"BDAT 10 LAST more", E(BDAT_SYNTAX)),
        // --- AUTH ---
        (
            b"AUTH plain",
            C(Command::Auth {
                mechanism: s("PLAIN"),
                initial: None,
            }),
        ),
        (
            b"AUTH PLAIN AGpvZQBzZWNyZXQ=",
            C(Command::Auth {
                mechanism: s("PLAIN"),
                initial: Some(s("AGpvZQBzZWNyZXQ=")),
            }),
        ),
        (
            b"AUTH PLAIN =",
            C(Command::Auth {
                mechanism: s("PLAIN"),
                initial: Some(s("=")),
            }),
        ),
        (
            b"AUTH scram-sha-256",
            C(Command::Auth {
                mechanism: s("SCRAM-SHA-256"),
                initial: None,
            }),
        ),
        (
            b"AUTH",
            E(b"501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"),
        ),
        (
            b"AUTH PL@IN",
            E(b"501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"),
        ),
        (
            b"AUTH ABCDEFGHIJKLMNOPQRSTU",
            E(b"501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"),
        ),
        (
            b"AUTH PLAIN a b",
            E(b"501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"),
        ),
        // --- ETRN / ATRN ---
        (b"ETRN example.com", C(Command::Etrn(s("example.com")))),
        (b"ETRN @example.com", C(Command::Etrn(s("@example.com")))),
        (b"ETRN #queue1", C(Command::Etrn(s("#queue1")))),
        (b"ETRN", E(b"501 5.5.4 Syntax: ETRN [@]domain | #queue\r\n")),
        (
            b"ETRN #",
            E(b"501 5.5.4 Syntax: ETRN [@]domain | #queue\r\n"),
        ),
        (
            b"ETRN @",
            E(b"501 5.5.4 Syntax: ETRN [@]domain | #queue\r\n"),
        ),
        (
            b"ETRN a..b",
            E(b"501 5.5.4 Syntax: ETRN [@]domain | #queue\r\n"),
        ),
        (b"ATRN", C(Command::Atrn(vec![]))),
        (
            b"ATRN example.com",
            C(Command::Atrn(vec![s("example.com")])),
        ),
        (
            b"ATRN a.example,b.example",
            C(Command::Atrn(vec![s("a.example"), s("b.example")])),
        ),
        (
            b"ATRN a.example,",
            E(b"501 5.5.4 Syntax: ATRN [domain[,domain]...]\r\n"),
        ),
        (
            b"ATRN a.example b.example",
            E(b"501 5.5.4 Syntax: ATRN [domain[,domain]...]\r\n"),
        ),
    ]
}

#[test]
fn grammar_table() {
    for (input, want) in table() {
        let got = Command::parse(input);
        let shown = String::from_utf8_lossy(input);
        match (want, got) {
            (Want::Ok(c), Ok(g)) => assert_eq!(g, c, "{shown}"),
            (Want::Err(bytes), Err(e)) => assert_eq!(
                String::from_utf8_lossy(&e.reply().to_bytes(true)),
                String::from_utf8_lossy(bytes),
                "{shown}"
            ),
            (Want::Ok(c), Err(e)) => panic!("{shown}: want {c:?}, got error {e:?}"),
            (Want::Err(b), Ok(g)) => {
                panic!("{shown}: want {:?}, got {g:?}", String::from_utf8_lossy(b))
            }
        }
    }
}

/// The session skips a BDAT chunk even when the line is refused, so the error that follows
/// a good size must carry it, and the one without a size must not pretend to know it.
#[test]
fn bdat_errors_carry_the_size_when_known() {
    assert_eq!(
        Command::parse(b"BDAT 10 LASTX"),
        Err(CommandError::BdatSyntax { size: 10 })
    );
    assert_eq!(
        Command::parse(b"BDAT x LAST"),
        Err(CommandError::BadBdatSize)
    );
}

proptest::proptest! {
    /// The hot-path fold is the const one, for every length around the 4..=8 window.
    #[test]
    fn fold_word_is_fold(word in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12)) {
        proptest::prop_assert_eq!(fold_word(&word), fold(&word));
    }
}

#[test]
fn fold_word_table() {
    for w in [
        &b""[..],
        b"a",
        b"RCPT",
        b"rcpt",
        b"ENVID",
        b"NoTiFy",
        b"STARTTLS",
        b"SMTPUTF8",
        b"ninechars",
    ] {
        assert_eq!(fold_word(w), fold(w), "{:?}", String::from_utf8_lossy(w));
    }
    assert_eq!(fold_word(b"STARTTLS"), STARTTLS);
    assert_eq!(fold_word(b"ninechars"), 0);
}

/// Lines near the `MAIL FROM:` / `RCPT TO:` shortcut: each must parse exactly as the
/// general dispatch parses it, whether or not the shortcut takes it. The bytes 0x00 and
/// 0x1a fold onto space and `:` if the case bits were applied to every byte.
#[test]
fn shortcut_table() {
    let lines: &[&[u8]] = &[
        b"MAIL FROM:<a@b.c>",
        b"mail from:<a@b.c> SIZE=10",
        b"MaIl FrOm:  <a@b.c>",
        b"MAIL\x00FROM:<a@b.c>",
        b"MAIL FROM\x1a<a@b.c>",
        b"MAIL  FROM:<a@b.c>",
        b"MAIL FRO:<a@b.c>",
        b"MAIL FROMX:<a@b.c>",
        b"MAIL FROM:",
        b"MAIL FROM",
        b"MAIL FRO",
        b"RCPT TO:<a@b.c>",
        b"rcpt to:<a@b.c> NOTIFY=NEVER",
        b"RCPT\x00TO:<a@b.c>",
        b"RCPT TO\x1a<a@b.c>",
        b"RCPT TO:",
        b"RCPT TO: <Postmaster>",
        b"RCPT  TO:<a@b.c>",
        b"RCPT TO :<a@b.c>",
        b"RCPT TO:<>",
        b"RCPT TO:x",
    ];
    for line in lines {
        assert_eq!(
            Command::parse_borrowed(line),
            dispatch(trim_end(line)),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(matches!(
        Command::parse(b"MAIL\x00FROM:<a@b.c>"),
        Err(CommandError::Unknown)
    ));
}

proptest::proptest! {
    /// The shortcut agrees with the general dispatch on lines built from near-miss pieces:
    /// verbs and keywords in any case, odd separators, real paths and parameters.
    #[test]
    fn shortcut_is_dispatch(
        verb in proptest::sample::select(vec!["MAIL", "mail", "MaIl", "RCPT", "rcpt", "rCpT", "MAIX"]),
        sep in proptest::sample::select(vec![" ", "  ", "\u{0}", "\u{1a}", "\t", ""]),
        key in proptest::sample::select(vec!["FROM", "from", "FrOm", "TO", "to", "tO", "FRO", "T", "FROMM"]),
        colon in proptest::sample::select(vec![":", "\u{1a}", ";", " :", ""]),
        space in proptest::sample::select(vec!["", " ", "  "]),
        path in proptest::sample::select(vec!["<a@b.c>", "<>", "<Postmaster>", "<x y@z>", "a@b", "<\u{e9}@b.c>", ""]),
        params in proptest::sample::select(vec!["", " SIZE=1", " NOTIFY=SUCCESS ORCPT=rfc822;a+40b", " BODY=8BITMIME ENVID=x+2By", " ", "\t", "x"]),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
    ) {
        let mut line = format!("{verb}{sep}{key}{colon}{space}{path}{params}").into_bytes();
        line.extend_from_slice(&tail);
        proptest::prop_assert_eq!(Command::parse_borrowed(&line), dispatch(trim_end(&line)));
    }
}

/// The verb split as it was before short lines skipped the space search: the reference
/// for [`dispatch`].
fn dispatch_naive(line: &[u8]) -> Borrowed<'_> {
    let (verb, args) = if line.get(4) == Some(&b' ') {
        (&line[..4], trim_start(&line[5..]))
    } else {
        match line.iter().take(9).position(|&c| c == b' ') {
            Some(sp) => (&line[..sp], trim_start(&line[sp + 1..])),
            None if line.len() <= 8 => (line, &line[line.len()..]),
            None => return Err(CommandError::Unknown),
        }
    };
    verb_args(line, verb, args)
}

proptest::proptest! {
    /// Short lines of verb letters and spaces split as the byte search splits them.
    #[test]
    fn short_line_split_is_naive(
        line in proptest::collection::vec(
            proptest::sample::select(b"DATRSEQUINOPHLVYXMCBKsdt ".to_vec()),
            0..11,
        ),
    ) {
        let line = trim_end(&line);
        proptest::prop_assert_eq!(dispatch(line), dispatch_naive(line));
    }
}

#[test]
fn short_line_split_table() {
    for line in [
        &b"DATA"[..],
        b"RSET",
        b"QUIT",
        b"NOOP",
        b"TURN",
        b"HELP",
        b"ATRN",
        b"VRFY",
        b"STARTTLS",
        b"DAT A",
        b"D ATA",
        b"STARTTL",
        b"STARTTLX",
        b"A",
        b"",
        b"DATAXYZ",
    ] {
        assert_eq!(
            dispatch(line),
            dispatch_naive(line),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// Every string of a borrowed command, with whether it is borrowed.
fn strings<'c>(cmd: &'c Command<Cow<'_, str>>) -> Vec<&'c Cow<'c, str>> {
    let mut out: Vec<&Cow<'_, str>> = Vec::new();
    match cmd {
        Command::Helo(s) | Command::Ehlo(s) | Command::Vrfy(s) | Command::Expn(s) => out.push(s),
        Command::Etrn(s) => out.push(s),
        Command::Help(s) => out.extend(s),
        Command::Atrn(list) => out.extend(list),
        Command::Auth { mechanism, initial } => {
            out.push(mechanism);
            out.extend(initial);
        }
        Command::Mail { from, params } => {
            out.extend(from.mailbox().map(|m| &m.text));
            out.extend(&params.envid);
            out.extend(&params.auth);
        }
        Command::Rcpt { to, params } => {
            out.extend(to.mailbox().map(|m| &m.text));
            if let Some(o) = &params.orcpt {
                out.push(&o.addr_type);
                out.push(&o.addr);
            }
        }
        _ => {}
    }
    out
}

#[test]
fn borrowed_commands_copy_only_what_they_decode() {
    // (line, how many of its strings must be owned)
    let cases: &[(&[u8], usize)] = &[
        (b"EHLO client.example.net", 0),
        (
            b"MAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=QQ123",
            0,
        ),
        (b"MAIL FROM:<a@b.c> ENVID=QQ+2B123", 1),
        (b"MAIL FROM:<a@b.c> AUTH=<>", 0),
        (b"MAIL FROM:<> AUTH=e+2Bf@example.com", 1),
        (b"RCPT TO:<a@b.c> NOTIFY=SUCCESS ORCPT=rfc822;a@b.c", 0),
        (b"RCPT TO:<a@b.c> ORCPT=rfc822;a+40b.c", 1),
        (b"RCPT TO:<Postmaster>", 0),
        (b"VRFY someone", 0),
        (b"HELP mail", 0),
        (b"AUTH PLAIN dGVzdA==", 0),
        (b"AUTH plain", 1),
        (b"ETRN @example.org", 0),
        (b"ATRN a.example,b.example", 0),
    ];
    for &(line, owned) in cases {
        let shown = String::from_utf8_lossy(line);
        let cmd = Command::parse_borrowed(line).unwrap_or_else(|e| panic!("{shown}: {e:?}"));
        let got = strings(&cmd)
            .iter()
            .filter(|s| matches!(s, Cow::Owned(_)))
            .count();
        assert_eq!(got, owned, "{shown}");
        assert_eq!(Ok(cmd.into_owned()), Command::parse(line), "{shown}");
    }
}

proptest::proptest! {
    /// A borrowed string of a parsed command lies inside the line it came from, and the
    /// owned parse is the borrowed one made owned.
    #[test]
    fn borrowed_strings_point_into_the_line(
        verb in proptest::sample::select(vec![
            "MAIL FROM:", "RCPT TO:", "EHLO ", "HELO ", "VRFY ", "HELP ", "AUTH ", "ETRN ", "ATRN ",
        ]),
        arg in proptest::sample::select(vec![
            "<a@b.c>", "<>", "<Postmaster>", "<\u{e9}@b.c>", "b.c", "PLAIN", "login =", "@b.c",
            "a.b,c.d", "<a@b.c> ENVID=x+2By AUTH=<>", "<a@b.c> NOTIFY=NEVER ORCPT=rfc822;a+40b",
            "<a@b.c> ORCPT=utf-8;a", "<\"x y\"@[192.0.2.1]> SMTPUTF8",
        ]),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
    ) {
        let mut line = format!("{verb}{arg}").into_bytes();
        line.extend_from_slice(&tail);
        let range = line.as_ptr_range();
        let parsed = Command::parse_borrowed(&line);
        if let Ok(cmd) = &parsed {
            for s in strings(cmd) {
                if let Cow::Borrowed(b) = s {
                    let p = b.as_bytes().as_ptr_range();
                    proptest::prop_assert!(range.start <= p.start && p.end <= range.end);
                }
            }
        }
        proptest::prop_assert_eq!(parsed.map(Command::into_owned), Command::parse(&line));
    }
}
