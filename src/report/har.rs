//! HAR 1.2 of every exchange, secrets masked.

use std::path::Path;

use serde_json::{Value, json};

use super::exchange::*;
use super::files::*;
use crate::error::Error;

use crate::http::Exchange;
use crate::secret::masker;

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    time::OffsetDateTime::from(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// HAR 1.2 of every exchange, secrets masked.
pub fn write_har(path: &Path, exchanges: &[Exchange]) -> Result<(), Error> {
    let headers = |list: &[(String, String)]| -> Vec<Value> {
        list.iter().map(|(n, v)| json!({"name": n, "value": mask_header(n, v)})).collect()
    };
    let entries: Vec<Value> = exchanges
        .iter()
        .map(|e| {
            let url = url::Url::parse(&e.url).ok();
            let query: Vec<Value> = url
                .as_ref()
                .map(|u| u.query_pairs().map(|(n, v)| json!({"name": n, "value": masker().mask(&v)})).collect())
                .unwrap_or_default();
            let content_type = |list: &[(String, String)]| {
                list.iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let mut request = json!({
                "method": e.method, "url": masker().mask(&e.url), "httpVersion": "HTTP/1.1",
                "headers": headers(&e.request_headers), "queryString": query, "cookies": [],
                "headersSize": -1, "bodySize": e.request_body.as_ref().map(|b| b.len() as i64).unwrap_or(0),
            });
            if let Some(body) = &e.request_body {
                request["postData"] = json!({"mimeType": content_type(&e.request_headers), "text": mask_body(body)});
            }
            let body = e.response_body.clone().unwrap_or_default();
            let time_ms = e.duration.as_secs_f64() * 1000.0;
            let mut entry = json!({
                "startedDateTime": rfc3339(e.started),
                "time": time_ms,
                "request": request,
                "response": {
                    "status": e.status.unwrap_or(0), "statusText": e.error.clone().map(|m| masker().mask(&m)).unwrap_or_default(),
                    "httpVersion": "HTTP/1.1", "headers": headers(&e.response_headers), "cookies": [],
                    "content": {"size": body.len(), "mimeType": content_type(&e.response_headers), "text": mask_body(&body)},
                    "redirectURL": e.response_headers.iter().find(|(n, _)| n == "location").map(|(_, v)| masker().mask(v)).unwrap_or_default(),
                    "headersSize": -1, "bodySize": body.len(),
                },
                "cache": {},
                "timings": {"send": 0, "wait": time_ms, "receive": 0},
            });
            if let Some(source) = &e.source {
                entry["pageref"] = json!(source.page);
                entry["comment"] = json!(format!("step {}", source.step));
            }
            entry
        })
        .collect();
    // One page per connector and flow, in the order their first exchange started.
    let mut pages: Vec<Value> = Vec::new();
    for e in exchanges {
        let Some(source) = &e.source else { continue };
        if !pages.iter().any(|p| p["id"] == source.page.as_str()) {
            pages.push(json!({
                "startedDateTime": rfc3339(e.started), "id": source.page, "title": source.page,
                "pageTimings": {"onContentLoad": -1, "onLoad": -1},
            }));
        }
    }
    let har = json!({"log": {"version": "1.2", "creator": {"name": "conntest", "version": env!("CARGO_PKG_VERSION")}, "pages": pages, "entries": entries}});
    let text = serde_json::to_string_pretty(&har).unwrap_or_default();
    write_private(path, &text)
}
