//! The values templates read during a run: `vars` and each step's outputs,
//! each converted to a shared template value once and never copied per step.
//!
//! A step's outputs become a [`minijinja::Value`] when the step finishes
//! (maps and lists inside it are reference-counted), and the render context is
//! one object that looks names up in the table: rendering a template costs
//! the template, not the number of steps that ran before it.

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, Serde, Value as JValue, ValueKind};
use serde_json::{Map, Value};

/// Name → value table behind the render context.
#[derive(Debug, Clone, Default)]
struct Table(IndexMap<String, JValue>);

impl Object for Table {
    fn get_value(self: &Arc<Self>, key: &JValue) -> Option<JValue> {
        self.0.get(key.as_str()?).cloned()
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().map(|k| JValue::from(k.as_str())).collect())
    }
}

/// What templates of one run can read: `vars`, step outputs, and globals such
/// as `redirect_uri` while a browser step renders its own URL.
#[derive(Debug, Clone, Default)]
pub struct Context {
    table: Arc<Table>,
}

impl Context {
    pub fn new() -> Self {
        Context::default()
    }

    /// Sets `name` to `value`, converting it once.
    pub fn set(&mut self, name: &str, value: &Value) {
        self.set_value(name, JValue::from(Serde(value)));
    }

    /// Sets `name` to an already converted value. Copies the table only when a
    /// render of an older state is still alive (never during a normal run).
    pub fn set_value(&mut self, name: &str, value: JValue) {
        Arc::make_mut(&mut self.table).0.insert(name.to_string(), value);
    }

    /// A copy with `redirect_uri` set, for a browser step rendering its own URL.
    pub fn with_redirect_uri(&self, uri: &str) -> Context {
        let mut cx = self.clone();
        cx.set_value("redirect_uri", JValue::from(uri));
        cx
    }

    /// The render context: one shared object, built in constant time.
    pub fn value(&self) -> JValue {
        JValue::from_dyn_object(self.table.clone())
    }

    pub fn get(&self, name: &str) -> Option<&JValue> {
        self.table.0.get(name)
    }

    /// `name`'s value as JSON, for the cache, reports and path updates.
    pub fn get_json(&self, name: &str) -> Option<Value> {
        self.get(name).map(to_json)
    }

    /// Every step's outputs as JSON (everything except `vars`), in run order.
    pub fn outputs(&self) -> Map<String, Value> {
        self.table.0.iter().filter(|(k, _)| *k != "vars").map(|(k, v)| (k.clone(), to_json(v))).collect()
    }
}

/// A template value as JSON (values built from JSON always convert back).
pub fn to_json(value: &JValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Why `path` does not resolve in `cx`, or `None` when it does.
pub fn missing(path: &[String], cx: &Context) -> Option<String> {
    let mut node = cx.value();
    for (i, seg) in path.iter().enumerate() {
        let next = match node.kind() {
            ValueKind::Map => node.get_attr(seg).ok().filter(|v| !v.is_undefined()),
            ValueKind::Seq => seg.parse::<usize>().ok().and_then(|n| node.get_item_by_index(n).ok()),
            _ => None,
        }
        .filter(|v| !v.is_undefined());
        match next {
            Some(n) => node = n,
            None => {
                let full = path.join(".");
                let available = describe(&node);
                return Some(if i == 0 {
                    format!("`{full}` is undefined; available: {available}")
                } else {
                    format!("`{full}` is undefined; `{}` has: {available}", path[..i].join("."))
                });
            }
        }
    }
    None
}

/// What a value offers instead of the missing name.
fn describe(node: &JValue) -> String {
    match node.kind() {
        ValueKind::Map => {
            let keys: Vec<String> = node.try_iter().map(|it| it.map(|k| k.to_string()).collect()).unwrap_or_default();
            if keys.is_empty() { "nothing".to_string() } else { keys.join(", ") }
        }
        ValueKind::Seq => format!("a list of {} item(s)", node.len().unwrap_or(0)),
        ValueKind::String => "a string value".into(),
        ValueKind::Number => "a number value".into(),
        ValueKind::Bool => "a boolean value".into(),
        _ => "a null value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outputs_round_trip_in_order() {
        let mut cx = Context::new();
        cx.set("vars", &json!({"a": "1"}));
        let out = json!({"status": 200, "body": {"z": 1, "a": [1.5, null, true, "s"]}, "n": -3});
        cx.set("login", &out);
        assert_eq!(Value::Object(cx.outputs()), json!({"login": out}));
        assert_eq!(serde_json::to_string(&cx.get_json("login").unwrap()).unwrap(), out.to_string());
    }

    #[test]
    fn setting_does_not_copy_what_earlier_renders_hold() {
        let mut cx = Context::new();
        cx.set("a", &json!(1));
        let held = cx.value();
        cx.set("b", &json!(2));
        assert!(held.get_attr("b").unwrap().is_undefined());
        assert_eq!(cx.value().get_attr("b").unwrap(), JValue::from(2));
    }

    #[test]
    fn missing_names_the_path_and_what_exists() {
        let mut cx = Context::new();
        cx.set("vars", &json!({}));
        cx.set("login", &json!({"body": {"access_token": "t"}, "list": [1]}));
        let p = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(missing(&p("login.body.access_token"), &cx), None);
        assert_eq!(
            missing(&p("login.body.acces_token"), &cx).unwrap(),
            "`login.body.acces_token` is undefined; `login.body` has: access_token"
        );
        assert_eq!(missing(&p("logn"), &cx).unwrap(), "`logn` is undefined; available: vars, login");
        assert_eq!(
            missing(&p("login.list.3"), &cx).unwrap(),
            "`login.list.3` is undefined; `login.list` has: a list of 1 item(s)"
        );
        assert_eq!(missing(&p("login.list.0"), &cx), None);
    }
}
