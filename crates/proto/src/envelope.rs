//! The envelope of one message: what MAIL and RCPT said, shared by the server session (which
//! builds it), the queue (which stores it) and the client session (which replays it).

use crate::address::{ForwardPath, ReversePath};
use crate::params::{MailParams, RcptParams};

/// One recipient with its RCPT parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recipient {
    /// The forward-path.
    pub path: ForwardPath,
    /// NOTIFY, ORCPT.
    pub params: RcptParams,
}

/// The SMTP envelope of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    /// The reverse-path of MAIL FROM.
    pub from: ReversePath,
    /// MAIL parameters (SIZE, BODY, SMTPUTF8, RET, ENVID, AUTH=).
    pub params: MailParams,
    /// The accepted recipients, in the order they were given.
    pub rcpts: Vec<Recipient>,
}
