//! Where each node of a YAML document sits: path → line and column.
//!
//! The text is read once, as an event stream: the same pass builds the
//! document (as JSON, scalars resolved as YAML 1.2's core schema does) and
//! indexes every node's start by its path, finds duplicate keys, and refuses
//! alias bombs and runaway nesting.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::scalar::{Cost, resolve, size};
use saphyr_parser::{Event, Parser, Span};
use serde_json::{Map, Value};

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

/// Where the nodes of a document are, indexed on first use: a valid file
/// never needs a position, and indexing is a third of loading one (a
/// `validate` of a thousand files placed a million nodes that nobody asked
/// for). Keys written twice are found by the first pass, which then indexes.
#[derive(Debug)]
pub struct Spans {
    lazy: Arc<Lazy>,
    /// Keys written twice in one mapping, at their second occurrence.
    pub duplicates: Vec<(Path, Pos)>,
}

#[derive(Debug)]
struct Lazy {
    /// The text (without its byte-order mark), to index when first asked.
    text: String,
    index: std::sync::OnceLock<Index>,
}

/// Where one string value's text starts, found when first asked — after
/// validation too: a `js` step keeps one to place its run-time errors, and a
/// valid file never pays for the index.
#[derive(Clone)]
pub struct TextAt {
    lazy: Arc<Lazy>,
    path: Path,
}

impl TextAt {
    pub fn line(&self) -> usize {
        self.lazy.value(&self.path).line
    }
}

impl fmt::Debug for TextAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TextAt({})", self.path)
    }
}

/// Every node of the document once, with its parent and the segment leading to
/// it: a node costs one entry and its own key, not a copy of its whole path
/// (a thousand-file `validate` placed a million path segments that way).
#[derive(Debug)]
struct Index {
    /// Node 0 is the document.
    nodes: Vec<Node>,
    /// (parent, segment) → child.
    children: HashMap<(u32, Seg), u32>,
    /// Second values of duplicate keys: (node, parent, segment), not in `children`.
    detached: Vec<(u32, u32, Seg)>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Where the node's value starts (its first occurrence).
    value: Option<Pos>,
    /// Where the mapping key naming the node starts (its last occurrence).
    key: Option<Pos>,
}

impl Default for Index {
    fn default() -> Self {
        Index { nodes: vec![Node { value: None, key: None }], children: HashMap::new(), detached: Vec::new() }
    }
}

/// The document node.
const ROOT: u32 = 0;

/// Why a text is not a YAML document conntest can read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Deeper nesting than this is refused: no connector needs it, and a hostile
/// file would otherwise cost time and memory in proportion to depth squared.
pub const MAX_DEPTH: usize = 64;
/// Nodes one document may expand to through aliases (an "alias bomb" guard).
const MAX_NODES: usize = 1_000_000;
/// Bytes of text one document may expand to: a few aliases of one long
/// string cost memory, not nodes.
const MAX_TEXT: usize = 16 << 20;

/// One pass over the text: the document as JSON, and where each node sits
/// (indexed now only if a key is written twice, else on first use).
pub fn parse(text: &str) -> (Result<Value, SyntaxError>, Spans) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (doc, b) = build(text, false);
    let lazy = Lazy { text: text.to_string(), index: std::sync::OnceLock::new() };
    let mut duplicates = Vec::new();
    if b.saw_duplicate {
        let (_, b) = build(text, true);
        let index = b.index.unwrap_or_default();
        let parents = index.parents();
        duplicates = b.duplicates.iter().map(|&(node, at)| (index.path_of(&parents, node), at)).collect();
        let _ = lazy.index.set(index);
    }
    let spans = Spans { lazy: Arc::new(lazy), duplicates };
    (doc, spans)
}

/// The document, and with `indexed` where each node sits.
fn build(text: &str, indexed: bool) -> (Result<Value, SyntaxError>, Builder) {
    let mut b = Builder {
        index: indexed.then(Index::default),
        saw_duplicate: false,
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        spent: Cost::default(),
        duplicates: Vec::new(),
    };
    let mut parser = Parser::new_from_str(text);
    let result = loop {
        match parser.next_event() {
            None => break Ok(()),
            Some(Ok((ev, span))) => {
                if let Err(e) = b.on_event(ev, span) {
                    break Err(e);
                }
            }
            Some(Err(e)) => {
                let m = e.marker();
                break Err(SyntaxError {
                    pos: Pos { line: m.line().max(1), column: m.col() + 1 },
                    message: e.info().to_string(),
                });
            }
        }
    };
    (result.map(|()| b.root.take().unwrap_or(Value::Null)), b)
}

impl Spans {
    /// Position of the value at `path`, else of its nearest indexed ancestor.
    pub fn value(&self, path: &Path) -> Pos {
        self.lazy.value(path)
    }

    /// Where the text of the string at `path` starts, found when first asked
    /// (for a `|` or `>` block, saphyr places it on the first line of the text).
    pub fn text_at(&self, path: &Path) -> TextAt {
        TextAt { lazy: self.lazy.clone(), path: path.clone() }
    }

    /// Position of the key naming `path` (falls back to its value).
    pub fn key(&self, path: &Path) -> Pos {
        let ix = self.lazy.index();
        let node = path.0.iter().try_fold(ROOT, |at, seg| ix.children.get(&(at, seg.clone())).copied());
        node.and_then(|n| ix.nodes[n as usize].key).unwrap_or_else(|| self.value(path))
    }
}

impl Lazy {
    fn index(&self) -> &Index {
        self.index.get_or_init(|| build(&self.text, true).1.index.unwrap_or_default())
    }

    fn value(&self, path: &Path) -> Pos {
        let ix = self.index();
        let mut found = ix.nodes[ROOT as usize].value;
        let mut at = ROOT;
        for seg in &path.0 {
            match ix.children.get(&(at, seg.clone())) {
                Some(&child) => at = child,
                None => break,
            }
            found = ix.nodes[at as usize].value.or(found);
        }
        found.unwrap_or(Pos { line: 1, column: 1 })
    }
}

impl Index {
    /// The child of `parent` at `seg`, made when new; whether it was new.
    fn child(&mut self, parent: u32, seg: Seg) -> (u32, bool) {
        let next = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        match self.children.entry((parent, seg)) {
            std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next);
                self.nodes.push(Node { value: None, key: None });
                (next, true)
            }
        }
    }

    /// A node for the value of a key written twice: path lookups keep finding the
    /// first value, as the document keeps it.
    fn detached(&mut self, parent: u32, seg: Seg, key: Pos) -> u32 {
        let node = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        self.nodes.push(Node { value: None, key: Some(key) });
        self.detached.push((node, parent, seg));
        node
    }

    /// Each node's parent and the segment leading to it.
    fn parents(&self) -> HashMap<u32, (u32, &Seg)> {
        let indexed = self.children.iter().map(|((parent, seg), child)| (*child, (*parent, seg)));
        indexed.chain(self.detached.iter().map(|(node, parent, seg)| (*node, (*parent, seg)))).collect()
    }

    /// The path that leads to `node` (for the rare diagnostic that needs it).
    fn path_of(&self, parents: &HashMap<u32, (u32, &Seg)>, node: u32) -> Path {
        let mut segs = Vec::new();
        let mut at = node;
        while let Some(&(parent, seg)) = parents.get(&at) {
            segs.push(seg.clone());
            at = parent;
        }
        segs.reverse();
        Path(segs)
    }

    fn set_value(&mut self, node: u32, at: Pos) {
        let n = &mut self.nodes[node as usize];
        n.value.get_or_insert(at);
    }
}

enum Frame {
    /// `pending`: the key just read, and the node of its value.
    Map {
        node: u32,
        anchor: usize,
        pending: Option<(String, u32)>,
        map: Map<String, Value>,
    },
    Seq {
        node: u32,
        anchor: usize,
        items: Vec<Value>,
    },
}

struct Builder {
    /// Where each node is, when indexing.
    index: Option<Index>,
    /// A key written twice (found without the index too).
    saw_duplicate: bool,
    stack: Vec<Frame>,
    /// Anchored values with what copying each one costs.
    anchors: HashMap<usize, (Value, Cost)>,
    root: Option<Value>,
    documents: usize,
    spent: Cost,
    /// Keys written twice, by node, at their second occurrence.
    duplicates: Vec<(u32, Pos)>,
}

fn pos(span: &Span) -> Pos {
    Pos { line: span.start.line(), column: span.start.col() + 1 }
}

impl Builder {
    /// The node that starts now, or `None` when the event is a mapping key.
    fn place(&mut self, event_pos: Pos, key_text: Option<&str>) -> Option<u32> {
        match self.stack.last_mut() {
            None => Some(ROOT),
            Some(Frame::Seq { node, items, .. }) => {
                let (parent, index) = (*node, items.len());
                Some(self.index.as_mut().map_or(ROOT, |ix| ix.child(parent, Seg::Index(index)).0))
            }
            Some(Frame::Map { node, pending, map, .. }) => match pending {
                Some((_, child)) => Some(*child),
                None => {
                    let parent = *node;
                    let key = key_text.unwrap_or("").to_string();
                    let Some(ix) = &mut self.index else {
                        // A duplicate's first value is in `map` by now.
                        self.saw_duplicate |= map.contains_key(&key);
                        *pending = Some((key, ROOT));
                        return None;
                    };
                    let (mut child, new) = ix.child(parent, Seg::Key(key.clone()));
                    ix.nodes[child as usize].key = Some(event_pos);
                    if !new {
                        // The second value gets a node of its own, outside the index: the
                        // keys of a mapping under it are not duplicates of the first one's.
                        child = ix.detached(parent, Seg::Key(key.clone()), event_pos);
                        self.duplicates.push((child, event_pos));
                    }
                    if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
                        *pending = Some((key, child));
                    }
                    None
                }
            },
        }
    }

    fn set_value(&mut self, node: u32, at: Pos) {
        if let Some(ix) = &mut self.index {
            ix.set_value(node, at);
        }
    }

    /// Puts a finished value where it belongs: into its parent, or as the document.
    fn attach(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { pending, map, .. }) => {
                if let Some((key, _)) = pending.take() {
                    // A duplicate keeps its first value; the duplicate is reported.
                    map.entry(key).or_insert(value);
                }
            }
        }
    }

    fn count(&mut self, cost: Cost, at: Pos) -> Result<(), SyntaxError> {
        self.spent.nodes += cost.nodes;
        self.spent.text += cost.text;
        let message = if self.spent.nodes > MAX_NODES {
            format!("the document expands to more than {MAX_NODES} nodes (aliases repeated too often)")
        } else if self.spent.text > MAX_TEXT {
            format!("the document expands to more than {} MiB of text (aliases repeated too often)", MAX_TEXT >> 20)
        } else {
            return Ok(());
        };
        Err(SyntaxError { pos: at, message })
    }

    fn on_event(&mut self, ev: Event<'_>, span: Span) -> Result<(), SyntaxError> {
        let at = pos(&span);
        match ev {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(SyntaxError {
                        pos: at,
                        message: "more than one YAML document in the file (a second `---`)".into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(node) = self.place(at, Some(&text)) {
                    let cost = Cost::scalar(&text);
                    self.count(cost, at)?;
                    self.set_value(node, at);
                    let value = resolve(&text, style, tag.as_deref());
                    if anchor > 0 {
                        self.anchors.insert(anchor, (value.clone(), cost));
                    }
                    self.attach(value);
                }
            }
            Event::Alias(id) => {
                let (value, cost) = self.anchors.get(&id).cloned().unwrap_or((Value::Null, Cost::NODE));
                match self.place(at, Some("*alias")) {
                    Some(node) => {
                        self.count(cost, at)?;
                        self.set_value(node, at);
                        self.attach(value);
                    }
                    None => {
                        // An alias used as a mapping key: its text becomes the key.
                        let key = match value {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        if let Some(Frame::Map { node, .. }) = self.stack.last() {
                            let parent = *node;
                            let child =
                                self.index.as_mut().map_or(ROOT, |ix| ix.child(parent, Seg::Key(key.clone())).0);
                            if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
                                *pending = Some((key, child));
                            }
                        }
                    }
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                if self.stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError { pos: at, message: format!("nesting deeper than {MAX_DEPTH} levels") });
                }
                let Some(node) = self.place(at, None) else {
                    return Err(SyntaxError { pos: at, message: "a mapping or list used as a key".into() });
                };
                self.count(Cost::NODE, at)?;
                self.set_value(node, at);
                self.stack.push(if is_map {
                    Frame::Map { node, anchor, pending: None, map: Map::new() }
                } else {
                    Frame::Seq { node, anchor, items: Vec::new() }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Map { map, anchor, .. }) => (Value::Object(map), anchor),
                    Some(Frame::Seq { items, anchor, .. }) => (Value::Array(items), anchor),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (value.clone(), size(&value)));
                }
                self.attach(value);
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
