//! `--html FILE`: one self-contained HTML report (inline CSS and JS, no
//! network resource) — a section per connector and flow, its steps as a
//! timeline of durations, each HTTP exchange (masked) expandable on click.

use std::fmt::Write as _;
use std::path::Path;

use super::exchange::{mask_body, mask_header};
use super::files::write_private;
use crate::error::Error;
use crate::http::Exchange;
use crate::outcome::RunResult;
use crate::secret::masker;

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
h1{font-size:1.4em}section{border:1px solid #ccc;border-radius:6px;margin:1em 0;padding:.5em 1em}\
section.fail{border-color:#c33}.badge{display:inline-block;padding:0 .5em;border-radius:4px;color:#fff;font-weight:bold}\
.pass .badge{background:#2a7}.fail .badge{background:#c33}.step{display:flex;align-items:center;gap:.5em;margin:2px 0}\
.step .name{width:14em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}.bar{height:12px;background:#69c;min-width:2px;border-radius:2px}\
.step.bad .bar{background:#c33}.ms{color:#666;font-size:.9em}pre{background:#f6f6f6;padding:.5em;overflow:auto;white-space:pre-wrap}\
.error{color:#c33}.hint{color:#555}details summary{cursor:pointer}";

/// The toggle button, and a mark that the script ran (the browser test reads it).
const SCRIPT: &str = "document.body.setAttribute('data-ready','1');document.getElementById('toggle').addEventListener('click',function(){\
var d=document.querySelectorAll('details');var open=!Array.prototype.every.call(d,function(x){return x.open});\
d.forEach(function(x){x.open=open});});";

/// Writes the report of `results` and their `exchanges` to `path`.
pub fn write_html(path: &Path, results: &[RunResult], exchanges: &[Exchange]) -> Result<(), Error> {
    write_private(path, &render(results, exchanges))
}

/// The report as one HTML document.
pub fn render(results: &[RunResult], exchanges: &[Exchange]) -> String {
    let passed = results.iter().filter(|r| r.ok).count();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
         <title>conntest report</title><style>{STYLE}</style></head><body>\n\
         <h1>conntest: {passed} passed, {} failed</h1>\n<button id=\"toggle\" type=\"button\">expand / collapse all exchanges</button>\n",
        results.len() - passed
    );
    for r in results {
        section(&mut html, r, exchanges);
    }
    let _ = writeln!(html, "<script>{SCRIPT}</script>\n</body></html>");
    html
}

fn section(html: &mut String, r: &RunResult, exchanges: &[Exchange]) {
    let page = format!("{}/{}", r.connector, r.flow);
    let class = if r.ok { "pass" } else { "fail" };
    let _ = writeln!(
        html,
        "<section class=\"{class}\" id=\"{}\"><h2><span class=\"badge\">{}</span> {} <small>({}, {}, exit {})</small></h2>",
        esc(&page),
        if r.ok { "PASS" } else { "FAIL" },
        esc(&r.connector),
        esc(r.flow),
        esc(&r.file),
        r.exit_code
    );
    if let Some(e) = &r.error {
        let _ = writeln!(html, "<p class=\"error\">{}</p>", esc(&masker().mask(e)));
    }
    if let Some(h) = &r.hint {
        let _ = writeln!(html, "<p class=\"hint\">hint: {}</p>", esc(&masker().mask(h)));
    }
    // The timeline: one bar per step and the test API, widths relative to the longest.
    let mut rows: Vec<(String, &str, bool, u64)> =
        r.steps.iter().map(|s| (s.id.clone(), s.kind, s.ok, s.duration_ms)).collect();
    if let Some(t) = &r.test_api {
        rows.push((t.name.clone(), "test API", t.ok, t.duration_ms));
    }
    let longest = rows.iter().map(|r| r.3).max().unwrap_or(0).max(1);
    html.push_str("<div class=\"timeline\">\n");
    for (name, kind, ok, ms) in &rows {
        let width = (*ms as f64 / longest as f64 * 60.0).max(0.2);
        let _ = writeln!(
            html,
            "<div class=\"step{}\"><span class=\"name\" title=\"{kind}\">{} {}</span><span class=\"bar\" style=\"width:{width:.1}%\"></span><span class=\"ms\">{}</span></div>",
            if *ok { "" } else { " bad" },
            if *ok { "✔" } else { "✘" },
            esc(name),
            super::lines::human_duration(*ms)
        );
    }
    html.push_str("</div>\n");
    for e in exchanges.iter().filter(|e| e.source.as_ref().is_some_and(|s| s.page == page)) {
        exchange(html, e);
    }
    html.push_str("</section>\n");
}

fn exchange(html: &mut String, e: &Exchange) {
    let step = e.source.as_ref().map(|s| s.step.as_str()).unwrap_or_default();
    let outcome = match (e.status, &e.error) {
        (Some(s), _) => s.to_string(),
        (None, Some(err)) => masker().mask(err),
        (None, None) => "no answer".into(),
    };
    let mut text = format!("> {} {}\n", e.method, masker().mask(&e.url));
    for (n, v) in &e.request_headers {
        let _ = writeln!(text, "> {n}: {}", mask_header(n, v));
    }
    if let Some(b) = &e.request_body {
        let _ = writeln!(text, ">\n{}", mask_body(b));
    }
    let _ = writeln!(text, "\n< {outcome}");
    for (n, v) in &e.response_headers {
        let _ = writeln!(text, "< {n}: {}", mask_header(n, v));
    }
    if let Some(b) = &e.response_body {
        let _ = writeln!(text, "<\n{}", mask_body(b));
    }
    let _ = writeln!(
        html,
        "<details><summary>{} · {} {} → {} <span class=\"ms\">{}</span></summary><pre>{}</pre></details>",
        esc(step),
        esc(&e.method),
        esc(&masker().mask(&e.url)),
        esc(&outcome),
        super::lines::human_duration(e.duration.as_millis() as u64),
        esc(&text)
    );
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>\u{1b}[2J"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}[2J"
        );
    }
}
