//! Configuration errors: one line naming the file, the position and the key.
//!
//! `tern.toml:12:1: limits.max_recipients: must be greater than 0`
//!
//! The position comes from the TOML parser's byte spans. serde's errors carry a span but
//! not (publicly) the key, and validation errors carry the key but not a span, so this
//! module finds each from the other in the parsed document: the key whose key or value
//! covers an error's offset, and the span of the value at a key path.

use std::fmt;
use std::ops::Range;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A key path in the file: `limits.max_recipients`, `listener[1].address`,
/// `relay.trusted_networks[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl KeyPath {
    /// A path of one key.
    pub fn key(name: &str) -> KeyPath {
        KeyPath(vec![Segment::Key(name.to_owned())])
    }

    /// This path extended by a table key.
    pub fn push(mut self, name: &str) -> KeyPath {
        self.0.push(Segment::Key(name.to_owned()));
        self
    }

    /// This path extended by an array index.
    pub fn index(mut self, i: usize) -> KeyPath {
        self.0.push(Segment::Index(i));
        self
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Key(k) if i == 0 => write!(f, "{k}")?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// What kind of failure a [`ConfigError`] is, for a caller that wants to react
/// differently (the CLI does not; every kind exits 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Read,
    /// The file is not valid TOML.
    Syntax,
    /// The TOML is valid but a key is unknown, has the wrong type or a bad value.
    Invalid,
}

/// A configuration error, displayed as one line:
/// `ORIGIN[:LINE:COLUMN]: [KEY: ]MESSAGE`.
///
/// Line and column are 1-based, the column counted in characters. They are missing only
/// when the problem is not in the file (it could not be read, or a default is unusable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    origin: String,
    position: Option<(usize, usize)>,
    key: Option<String>,
    message: String,
}

impl ConfigError {
    pub(crate) fn read(origin: &str, err: &std::io::Error) -> ConfigError {
        ConfigError {
            kind: ConfigErrorKind::Read,
            origin: origin.to_owned(),
            position: None,
            key: None,
            message: format!("cannot read: {err}"),
        }
    }

    /// An error at byte `span` of `text`, for `key` if known.
    pub(crate) fn at(
        kind: ConfigErrorKind,
        origin: &str,
        text: &str,
        span: Option<Range<usize>>,
        key: Option<&KeyPath>,
        message: &str,
    ) -> ConfigError {
        ConfigError {
            kind,
            origin: origin.to_owned(),
            position: span.map(|s| line_col(text, s.start)),
            key: key.filter(|k| !k.is_empty()).map(|k| k.to_string()),
            // serde and toml messages are one line today; keep the promise if that changes.
            message: message.replace(['\r', '\n'], " "),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The file (or other origin) the configuration came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// 1-based line and column of the problem, when it is in the file.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.position
    }

    /// The key path concerned, e.g. `limits.max_recipients`, when known.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong, without origin, position or key.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// 1-based line and character column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The key path whose key or value covers byte `offset`, deepest first.
pub(crate) fn path_at(doc: &DeTable<'_>, offset: usize) -> KeyPath {
    let mut path = KeyPath::default();
    find_in_table(doc, offset, &mut path);
    path
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && (offset < span.end || span.is_empty() && offset == span.start)
}

fn find_in_table(table: &DeTable<'_>, offset: usize, path: &mut KeyPath) -> bool {
    for (key, value) in table.iter() {
        path.0.push(Segment::Key(key.get_ref().to_string()));
        // Children first: a `[section]` table's own span does not include its keys.
        if find_in_value(value, offset, path)
            || covers(&key.span(), offset)
            || covers(&value.span(), offset)
        {
            return true;
        }
        path.0.pop();
    }
    false
}

fn find_in_value(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut KeyPath) -> bool {
    match value.get_ref() {
        DeValue::Table(t) => find_in_table(t, offset, path),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.0.push(Segment::Index(i));
                if find_in_value(item, offset, path) || covers(&item.span(), offset) {
                    return true;
                }
                path.0.pop();
            }
            false
        }
        _ => false,
    }
}

/// The span of the value at `path`, or, if the key is absent (its default was used), of
/// the deepest ancestor present in the file.
pub(crate) fn span_of(doc: &DeTable<'_>, path: &KeyPath) -> Option<Range<usize>> {
    let mut best = None;
    let mut table = Some(doc);
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    for seg in &path.0 {
        let next = match (seg, table, current) {
            (Segment::Key(k), Some(t), _) => t.get(k.as_str()),
            (Segment::Index(i), _, Some(v)) => match v.get_ref() {
                DeValue::Array(items) => items.get(*i),
                _ => None,
            },
            _ => None,
        };
        let Some(v) = next else { break };
        best = Some(v.span());
        current = Some(v);
        table = match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        let eq = text.rfind('=').unwrap_or(0);
        assert_eq!(line_col(text, eq), (2, 4));
        assert_eq!(line_col(text, text.len()), (3, 1));
        // Inside a multi-byte character: the character's column.
        assert_eq!(line_col(text, 8), (2, 2));
    }

    #[test]
    fn key_path_display() {
        let p = KeyPath::key("listener").index(1).push("address");
        assert_eq!(p.to_string(), "listener[1].address");
        let p = KeyPath::key("relay").push("trusted_networks").index(0);
        assert_eq!(p.to_string(), "relay.trusted_networks[0]");
    }
}
