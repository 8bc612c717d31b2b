//! Checks an answer against an `expect` — the test API's and the `api_request`
//! and `ntlm` steps' — listing every failed assertion with expected and actual.

use serde_json::Value;

use crate::connector::model::{Check, Expect};
use crate::context::Context;
use crate::request::excerpt;
use crate::template::render_json;

/// Why an answer did not meet its `expect`.
#[derive(Debug)]
pub enum Unmet {
    /// The status is not in the list (or not 2xx for the default).
    Status { expected: String },
    /// Every failed JSON assertion, the body excerpt added once when a path matched nothing.
    Assertions(String),
    /// An `equals` template could not be rendered.
    Template(String),
}

impl Unmet {
    /// The message a person reads, after the request's summary.
    pub fn message(&self, body: &Value) -> String {
        match self {
            Unmet::Status { expected } => format!("expected status {expected} ({})", excerpt(body)),
            Unmet::Assertions(m) | Unmet::Template(m) => m.clone(),
        }
    }
}

/// Checks `status` and every JSON assertion. `default_ok` decides the status
/// when the `expect` names none (2xx for the test API; a step's own rule).
pub fn evaluate(
    expect: &Expect,
    default_ok: impl Fn(u16) -> bool,
    status: u16,
    body: &Value,
    ctx: &Context,
) -> Result<(), Unmet> {
    let status_ok = match &expect.status {
        Some(list) => list.contains(&status),
        None => default_ok(status),
    };
    if !status_ok {
        let expected = match &expect.status {
            Some(list) => list.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
            None => "2xx".into(),
        };
        return Err(Unmet::Status { expected });
    }
    let mut failures = Vec::new();
    let mut show_body = false;
    for a in &expect.assertions {
        let found = a.path.query(body).all();
        match &a.check {
            Check::Exists(want) if found.is_empty() == *want => {
                if *want {
                    show_body = true;
                    failures.push(format!("`{}` matched nothing", a.source));
                } else {
                    failures.push(format!("`{}` should not exist but matched {}", a.source, found.len()));
                }
            }
            Check::Equals(expected) => {
                let expected =
                    render_json(expected, ctx).map_err(|e| Unmet::Template(format!("expect `{}`: {e}", a.source)))?;
                match found.first() {
                    Some(v) if **v == expected => {}
                    Some(v) => failures.push(format!("`{}` is {v}, expected {expected}", a.source)),
                    None => {
                        show_body = true;
                        failures.push(format!("`{}` matched nothing, expected {expected}", a.source));
                    }
                }
            }
            _ => {}
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let body = if show_body { format!(" (body: {})", excerpt(body)) } else { String::new() };
    Err(Unmet::Assertions(format!("{}{body}", failures.join("; "))))
}

/// [`evaluate`] for a caller holding the response and its request's summary
/// (the `ntlm` step): `Ok`, or every failure in one line.
pub fn check(expect: &Expect, resp: &crate::http::Response, ctx: &Context, summary: &str) -> Result<(), String> {
    evaluate(expect, |s| (200..300).contains(&s), resp.status, &resp.body, ctx).map_err(|e| match e {
        Unmet::Status { .. } => format!("{summary}: {}", e.message(&resp.body)),
        _ => e.message(&resp.body),
    })
}
