//! Where each node of a YAML document sits: path → line and column.
//!
//! serde_yaml reports positions only for syntax and type errors; semantic
//! checks need the position of any key or value, so the text is also read as
//! an event stream and every node's start is indexed by its path.

use std::collections::HashMap;
use std::fmt;

use saphyr_parser::{Event, Parser, Span, SpannedEventReceiver};

/// One step into a document: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A node's address in the document, e.g. `auth_flow[1].request.url`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path(pub Vec<Seg>);

impl Path {
    pub fn root() -> Self {
        Path(Vec::new())
    }
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.into()));
        p
    }
    pub fn parent(&self) -> Self {
        let mut p = self.clone();
        p.0.pop();
        p
    }
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Default)]
pub struct Spans {
    /// Where the node's value starts.
    values: HashMap<Path, Pos>,
    /// Where the mapping key naming the node starts.
    keys: HashMap<Path, Pos>,
    /// Keys written twice in one mapping, at their second occurrence.
    pub duplicates: Vec<(Path, Pos)>,
}

impl Spans {
    /// Indexes `text`; a syntax error leaves whatever was indexed before it.
    pub fn index(text: &str) -> Spans {
        let mut builder = Builder { spans: Spans::default(), stack: Vec::new() };
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut builder, false);
        builder.spans
    }

    /// Position of the value at `path`, else of its nearest indexed ancestor.
    pub fn value(&self, path: &Path) -> Pos {
        let mut p = path.clone();
        loop {
            if let Some(pos) = self.values.get(&p) {
                return *pos;
            }
            if p.0.pop().is_none() {
                return Pos { line: 1, column: 1 };
            }
        }
    }

    /// Position of the key naming `path` (falls back to its value).
    pub fn key(&self, path: &Path) -> Pos {
        self.keys.get(path).copied().unwrap_or_else(|| self.value(path))
    }
}

enum Frame {
    Map { path: Path, pending_key: Option<String>, seen: Vec<String> },
    Seq { path: Path, next: usize },
}

struct Builder {
    spans: Spans,
    stack: Vec<Frame>,
}

fn pos(span: &Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

impl Builder {
    /// The path of the node that starts now, or `None` when the event is a mapping key.
    fn place(&mut self, event_pos: Pos, key_text: Option<&str>) -> Option<Path> {
        match self.stack.last_mut() {
            None => Some(Path::root()),
            Some(Frame::Seq { path, next }) => {
                let p = path.index(*next);
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, pending_key, seen }) => match pending_key.take() {
                Some(key) => Some(path.key(key)),
                None => {
                    let key = key_text.unwrap_or("").to_string();
                    let key_path = path.key(key.clone());
                    if seen.contains(&key) {
                        self.spans.duplicates.push((key_path.clone(), event_pos));
                    } else {
                        seen.push(key.clone());
                    }
                    self.spans.keys.insert(key_path, event_pos);
                    *pending_key = Some(key);
                    None
                }
            },
        }
    }
}

impl<'input> SpannedEventReceiver<'input> for Builder {
    fn on_event(&mut self, ev: Event<'input>, span: Span) {
        let at = pos(&span);
        match ev {
            Event::Scalar(text, ..) => {
                if let Some(path) = self.place(at, Some(&text)) {
                    self.spans.values.entry(path).or_insert(at);
                }
            }
            Event::Alias(_) => {
                if let Some(path) = self.place(at, Some("*alias")) {
                    self.spans.values.entry(path).or_insert(at);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A collection used as a mapping key is unusual; index it under a placeholder.
                let path = self.place(at, Some("?")).unwrap_or_default();
                self.spans.values.entry(path.clone()).or_insert(at);
                self.stack.push(if is_map {
                    Frame::Map { path, pending_key: None, seen: Vec::new() }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_block_and_flow_nodes() {
        let text = "name: a\nauth_flow:\n  - id: f\n    fields:\n      - {key: email, type: emial}\n";
        let spans = Spans::index(text);
        let field = Path::root().key("auth_flow").index(0).key("fields").index(0);
        assert_eq!(spans.value(&field.key("type")), Pos { line: 5, column: 28 });
        assert_eq!(spans.key(&field.key("type")), Pos { line: 5, column: 22 });
        assert_eq!(spans.key(&Path::root().key("name")), Pos { line: 1, column: 1 });
    }

    #[test]
    fn finds_duplicate_keys() {
        let spans = Spans::index("a: 1\nb: 2\na: 3\n");
        assert_eq!(spans.duplicates.len(), 1);
        assert_eq!(spans.duplicates[0].1, Pos { line: 3, column: 1 });
    }
}
