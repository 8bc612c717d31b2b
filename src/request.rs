//! Turns a validated [`RequestSpec`] into a concrete HTTP request by rendering
//! its templates against a run's context.

use serde_json::Value;
use url::Url;

use crate::connector::model::{BodySpec, RequestSpec};
use crate::context::Context;
use crate::http::{Body, Request};
use crate::template::render_json;

/// Joins a relative `url` to `base` the way people read it: base path + url path.
pub fn join(base: Option<&str>, url: &str) -> Result<Url, String> {
    if let Ok(abs) = Url::parse(url) {
        return Ok(abs);
    }
    let Some(base) = base else {
        return Err(format!("relative URL `{url}` needs a `base_url`"));
    };
    let joined = format!("{}/{}", base.trim_end_matches('/'), url.trim_start_matches('/'));
    Url::parse(&joined).map_err(|e| format!("`{joined}` is not a valid URL: {e}"))
}

pub fn prepare(spec: &RequestSpec, ctx: &Context, base: Option<&str>) -> Result<Request, String> {
    let url = spec.url.render(ctx).map_err(|e| format!("url: {e}"))?;
    let mut req = Request::new(spec.method.as_str(), join(base, url.trim())?);
    for (k, v) in &spec.query {
        let value = v.render(ctx).map_err(|e| format!("query.{k}: {e}"))?;
        req.url.query_pairs_mut().append_pair(k, &value);
    }
    for (k, v) in &spec.headers {
        let value = v.render(ctx).map_err(|e| format!("headers.{k}: {e}"))?;
        if let Some(why) = crate::http::message::header_value_problem(&value) {
            return Err(format!("headers.{k} (`{}`): {why}", v.source()));
        }
        req.headers.push((k.clone(), value));
    }
    req.body = match &spec.body {
        BodySpec::Empty => Body::Empty,
        BodySpec::Json(v) => Body::Json(render_json(v, ctx).map_err(|e| format!("json: {e}"))?),
        BodySpec::Form(pairs) => Body::Form(
            pairs
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.render(ctx).map_err(|e| format!("form.{k}: {e}"))?)))
                .collect::<Result<_, String>>()?,
        ),
        BodySpec::Text(t) => Body::Text(t.render(ctx).map_err(|e| format!("body: {e}"))?),
    };
    req.follow_redirects = spec.follow_redirects;
    Ok(req)
}

/// A short, single-line excerpt of a response body for error messages.
/// Secrets are masked before the text is collapsed and cut, so a secret that
/// the cut or the escaping would change cannot slip past the masker.
pub fn excerpt(body: &Value) -> String {
    let text = match body {
        Value::String(s) => crate::secret::masker().mask(s),
        other => crate::secret::masker().mask(&other.to_string()),
    };
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut =
        if flat.chars().count() > 200 { format!("{}…", flat.chars().take(200).collect::<String>()) } else { flat };
    crate::output::printable(&cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn joins_like_a_person_reads_it() {
        assert_eq!(join(Some("http://h:1/v1/"), "/me").unwrap().as_str(), "http://h:1/v1/me");
        assert_eq!(join(Some("http://h:1"), "me").unwrap().as_str(), "http://h:1/me");
        assert_eq!(join(None, "https://x.test/a").unwrap().as_str(), "https://x.test/a");
        assert!(join(None, "/me").is_err());
    }
}
