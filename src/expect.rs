//! Checking a response against an `expect:` (the test API's, an `ntlm`
//! step's): the status list, then every JSONPath assertion — each failure
//! listed with what was expected and what came, not only the first.

use crate::connector::model::{Assertion, Check};
use crate::context::Context;
use crate::http::Response;
use crate::request::excerpt;
use crate::template::render_json;

/// `Ok` when `resp` meets the expectations; otherwise every failure in one line.
pub fn check(
    status: &Option<Vec<u16>>,
    assertions: &[Assertion],
    resp: &Response,
    ctx: &Context,
    summary: &str,
) -> Result<(), String> {
    let status_ok = match status {
        Some(list) => list.contains(&resp.status),
        None => (200..300).contains(&resp.status),
    };
    if !status_ok {
        let expected = match status {
            Some(list) => list.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
            None => "2xx".into(),
        };
        return Err(format!("{}: expected status {expected} ({})", summary, excerpt(&resp.body)));
    }
    // Every failed expectation, with expected and actual; the body excerpt once.
    let mut failures = Vec::new();
    let mut show_body = false;
    for a in assertions {
        let found = a.path.query(&resp.body).all();
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
                let expected = render_json(expected, ctx).map_err(|e| format!("expect `{}`: {e}", a.source))?;
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
    if !failures.is_empty() {
        let body = if show_body { format!(" (body: {})", excerpt(&resp.body)) } else { String::new() };
        return Err(format!("{}{body}", failures.join("; ")));
    }
    Ok(())
}
