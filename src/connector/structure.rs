//! Structural checks of a parsed document against the connector's JSON Schema
//! (generated from the raw types), collecting every error with its path:
//! unknown keys with "did you mean", missing keys, wrong types, bad enum values.

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostics, did_you_mean};
use super::spans::{Path, Seg};

/// Checks `doc`; returns the paths the caller may drop to go on with the
/// semantic checks: unknown keys, and optional keys with a bad scalar value
/// (dropped, they fall back to their defaults).
pub fn check(root: &'static Value, doc: &Value, diags: &mut Diagnostics) -> Vec<Path> {
    let mut walker = Walker { root, droppable: Vec::new() };
    walker.node(root, doc, &Path::root(), diags);
    walker.droppable
}

/// Checks `value` at `path` against `schema` (a part of `root`) without reporting:
/// how many errors there are besides droppable keys, and the droppable keys' paths.
pub fn probe(
    root: &'static Value,
    schema: &'static Value,
    value: &Value,
    path: &Path,
    spans: &super::spans::Spans,
) -> (usize, Vec<Path>) {
    let mut scratch = Diagnostics::new(spans);
    let mut walker = Walker { root, droppable: Vec::new() };
    walker.node(schema, value, path, &mut scratch);
    (scratch.list.len().saturating_sub(walker.droppable.len()), walker.droppable)
}

/// The node at `path` in `doc`, if there is one.
pub fn node_mut<'d>(doc: &'d mut Value, path: &Path) -> Option<&'d mut Value> {
    path.0.iter().try_fold(doc, |node, seg| match seg {
        Seg::Key(k) => node.get_mut(k.as_str()),
        Seg::Index(i) => node.get_mut(*i),
    })
}

/// Removes the mapping key at `path` from `doc`.
pub fn remove(doc: &mut Value, path: &Path) {
    if let Some(Seg::Key(k)) = path.0.last()
        && let Some(Value::Object(m)) = node_mut(doc, &path.parent())
    {
        m.remove(k);
    }
}

struct Walker {
    root: &'static Value,
    /// Keys whose one error goes away when they are removed.
    droppable: Vec<Path>,
}

/// An object schema with `$ref` and `allOf` folded in.
#[derive(Default)]
struct ObjectView {
    properties: Vec<(&'static str, &'static Value)>,
    required: Vec<&'static str>,
    closed: bool,
    additional: Option<&'static Value>,
}

/// What the walk reads of one schema node, looked up once per process instead
/// of once per document node: `validate` of a thousand files visits the same
/// few dozen schema nodes a hundred thousand times, and each `get` hashes.
#[derive(Default)]
struct Compiled {
    /// `oneOf`/`anyOf`.
    alternatives: Option<Alternatives>,
    types: Vec<&'static str>,
    options: Option<&'static [Value]>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    items: Option<&'static Value>,
    view: ObjectView,
}

#[derive(Default)]
struct Alternatives {
    /// Some alternative allows `null`.
    nullable: bool,
    /// Tagged alternatives (`type: const`) by tag.
    tags: Vec<(&'static str, &'static Value)>,
    /// The alternatives that do not allow `null`, in order.
    non_null: Vec<&'static Value>,
}

type Memo = std::cell::RefCell<std::collections::HashMap<(usize, usize), std::rc::Rc<Compiled>>>;

thread_local! {
    /// Keyed by (root, node) addresses: the schemas are `'static`, never freed.
    static MEMO: Memo = Memo::default();
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn schema_type_matches(expected: &str, v: &Value) -> bool {
    match expected {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

fn friendly(t: &str) -> &str {
    match t {
        "array" => "a list",
        "object" => "a mapping",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        "null" => "nothing",
        other => other,
    }
}

fn last_key(path: &Path) -> String {
    match path.0.last() {
        Some(Seg::Key(k)) => k.clone(),
        Some(Seg::Index(_)) => path.to_string(),
        None => "connector".into(),
    }
}

fn where_(path: &Path) -> String {
    if path.0.is_empty() { "the connector".into() } else { format!("`{path}`") }
}

impl Walker {
    fn resolve(&self, schema: &'static Value) -> &'static Value {
        let mut s = schema;
        for _ in 0..16 {
            match s.get("$ref").and_then(Value::as_str) {
                Some(r) if s.as_object().is_some_and(|o| o.len() == 1 || !o.contains_key("properties")) => {
                    match r.strip_prefix("#/").map(|p| p.split('/').try_fold(self.root, |acc, k| acc.get(k))) {
                        Some(Some(target)) => s = target,
                        _ => return s,
                    }
                }
                _ => return s,
            }
        }
        s
    }

    /// What the walk needs of `schema`, from the memo.
    fn compiled(&self, schema: &'static Value) -> std::rc::Rc<Compiled> {
        let key = (std::ptr::from_ref(self.root) as usize, std::ptr::from_ref(schema) as usize);
        if let Some(done) = MEMO.with(|m| m.borrow().get(&key).cloned()) {
            return done;
        }
        let compiled = std::rc::Rc::new(self.compile(schema));
        MEMO.with(|m| m.borrow_mut().insert(key, compiled.clone()));
        compiled
    }

    fn compile(&self, schema: &'static Value) -> Compiled {
        let schema = self.resolve(schema);
        if let Some(alts) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
            let alternatives = Alternatives {
                nullable: alts.iter().any(|a| self.allows_null(a)),
                tags: alts.iter().filter_map(|a| Some((self.tag_of(a)?, a))).collect(),
                non_null: alts.iter().filter(|a| !self.allows_null(a)).collect(),
            };
            return Compiled { alternatives: Some(alternatives), ..Compiled::default() };
        }
        let types = match schema.get("type") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let mut view = ObjectView::default();
        self.object_view(schema, &mut view);
        Compiled {
            alternatives: None,
            types,
            options: schema.get("enum").and_then(Value::as_array).map(Vec::as_slice),
            minimum: schema.get("minimum").and_then(Value::as_f64),
            maximum: schema.get("maximum").and_then(Value::as_f64),
            items: schema.get("items"),
            view,
        }
    }

    fn object_view(&self, schema: &'static Value, view: &mut ObjectView) {
        let schema = self.resolve(schema);
        if schema.get("properties").is_some()
            && let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
            && let Some(def) = self.root.get("$defs").and_then(|d| d.get(name))
        {
            self.object_view(def, view);
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.object_view(part, view);
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                if !view.properties.iter().any(|(name, _)| name == k) {
                    view.properties.push((k.as_str(), v));
                }
            }
        }
        if let Some(req) = schema.get("required").and_then(Value::as_array) {
            view.required.extend(req.iter().filter_map(Value::as_str));
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => view.closed = true,
            Some(other @ Value::Object(_)) => view.additional = Some(other),
            _ => {}
        }
    }

    /// The discriminator value of a tagged-enum alternative (`type: const`).
    fn tag_of(&self, alt: &'static Value) -> Option<&'static str> {
        let mut view = ObjectView::default();
        self.object_view(alt, &mut view);
        let tag = view.properties.iter().find(|(k, _)| *k == "type")?.1;
        let tag = self.resolve(tag);
        tag.get("const").and_then(Value::as_str).or_else(|| tag.get("enum")?.as_array()?.first()?.as_str())
    }

    fn allows_null(&self, schema: &'static Value) -> bool {
        let s = self.resolve(schema);
        match s.get("type") {
            Some(Value::String(t)) => t == "null",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
            _ => false,
        }
    }

    fn node(&mut self, schema: &'static Value, v: &Value, path: &Path, d: &mut Diagnostics) {
        // `true` and `{}` have no keywords: everything passes.
        let c = self.compiled(schema);
        if let Some(alts) = &c.alternatives {
            self.alternatives(alts, v, path, d);
            return;
        }
        let types = &c.types;
        if !types.is_empty() && !types.iter().any(|t| schema_type_matches(t, v)) {
            let expected: Vec<&str> = types.iter().filter(|t| **t != "null").map(|t| friendly(t)).collect();
            // A single value where a list is wanted: show the list it meant.
            let hint = match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) if expected == ["a list"] => {
                    let shown = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                    format!("write a list: `{}: [{shown}]`", last_key(path))
                }
                _ => "see `conntest schema` for the connector format".to_string(),
            };
            d.value(
                path,
                format!("`{}` must be {}, found {}", last_key(path), expected.join(" or "), friendly(type_name(v))),
                hint,
            );
            return;
        }
        if let Some(options) = c.options {
            if !options.contains(v) {
                let names: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
                let shown = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                let mut hint = format!("expected one of: {}", names.join(", "));
                if let Some(m) = names.iter().find(|n| n.eq_ignore_ascii_case(&shown)) {
                    hint = format!("write `{m}` (upper case); {hint}");
                } else if let Some(m) = did_you_mean(&shown, names.iter().copied()) {
                    hint = format!("did you mean `{m}`? {hint}");
                }
                d.value(path, format!("invalid value `{shown}` for `{}`", last_key(path)), hint);
            }
            return;
        }
        if let (Some(min), Some(n)) = (c.minimum, v.as_f64())
            && n < min
        {
            d.value(path, format!("`{}` must be at least {min}", last_key(path)), "");
        }
        if let (Some(max), Some(n)) = (c.maximum, v.as_f64())
            && n > max
        {
            d.value(path, format!("`{}` must be at most {max}", last_key(path)), "");
        }
        match v {
            Value::Object(map) => self.object(&c.view, map, path, d),
            Value::Array(items) => {
                if let Some(item_schema) = c.items {
                    for (i, item) in items.iter().enumerate() {
                        self.node(item_schema, item, &path.index(i), d);
                    }
                }
            }
            _ => {}
        }
    }

    fn object(&mut self, view: &ObjectView, map: &Map<String, Value>, path: &Path, d: &mut Diagnostics) {
        for (key, value) in map {
            let child = path.key(key.clone());
            if let Some((_, s)) = view.properties.iter().find(|(k, _)| k == key) {
                let before = d.list.len();
                self.node(s, value, &child, d);
                let scalar = !value.is_object() && !value.is_array();
                if d.list.len() == before + 1 && scalar && !view.required.contains(&key.as_str()) {
                    self.droppable.push(child);
                }
            } else if let Some(additional) = view.additional {
                self.node(additional, value, &child, d);
            } else if view.closed {
                let names: Vec<&str> = view.properties.iter().map(|(k, _)| *k).collect();
                let hint = match did_you_mean(key, names.iter().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!("expected one of: {}", names.join(", ")),
                };
                d.key(&child, format!("unknown key `{key}` in {}", where_(path)), hint);
                self.droppable.push(child);
            }
        }
        for req in &view.required {
            if !map.contains_key(*req) {
                d.value(path, format!("missing required key `{req}` in {}", where_(path)), format!("add `{req}: …`"));
            }
        }
    }

    fn alternatives(&mut self, alts: &Alternatives, v: &Value, path: &Path, d: &mut Diagnostics) {
        if v.is_null() && alts.nullable {
            return;
        }
        let tags = &alts.tags;
        if !tags.is_empty() && v.is_object() {
            let names: Vec<&str> = tags.iter().map(|(t, _)| *t).collect();
            match v.get("type") {
                None => d.value(
                    path,
                    format!("missing required key `type` in {}", where_(path)),
                    format!("one of: {}", names.join(", ")),
                ),
                Some(Value::String(t)) => match tags.iter().find(|(name, _)| name == t) {
                    Some((_, alt)) => self.node(alt, v, path, d),
                    None => {
                        let mut hint = format!("step types: {}", names.join(", "));
                        if let Some(m) = did_you_mean(t, names.iter().copied()) {
                            hint = format!("did you mean `{m}`? {hint}");
                        }
                        d.value(&path.key("type"), format!("unknown step type `{t}`"), hint);
                    }
                },
                Some(other) => d.value(&path.key("type"), format!("`type` must be a string, found {other}"), ""),
            }
            return;
        }
        let mut first_errors = None;
        for alt in &alts.non_null {
            let mut trial = Diagnostics::new(d.spans);
            let known = self.droppable.len();
            self.node(alt, v, path, &mut trial);
            self.droppable.truncate(known);
            if trial.list.is_empty() {
                return;
            }
            first_errors.get_or_insert(trial.list);
        }
        for diag in first_errors.unwrap_or_default() {
            d.push(diag);
        }
    }
}
