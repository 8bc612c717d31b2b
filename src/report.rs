//! Every output conntest writes: text lines, the JSON document, JUnit XML, HAR,
//! `-v` exchange logs and spinners. All of it goes through the one masker.

use std::path::Path;
use std::time::Duration;

use console::style;
use serde_json::{Value, json};

use crate::error::Error;
use crate::http::Exchange;
use crate::outcome::{Event, EventHook, RunResult, StepReport};
use crate::output::{err, out, printable, raw_out, spinner_bar};
use crate::secret::{MASK, is_secret_name, masker};

fn mark(ok: bool) -> String {
    if ok { style("✔").green().to_string() } else { style("✘").red().to_string() }
}

/// A duration as people read it: `12 ms`, `14.4 s`, `2 min 5 s`.
pub fn human_duration(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

fn ms(d: u64) -> String {
    style(human_duration(d)).dim().to_string()
}

/// One line for a finished step or test API call.
pub fn step_line(step: &StepReport) -> String {
    let what = match (&step.error, step.ok) {
        (Some(e), true) => format!("{} — {e}", step.summary),
        (Some(e), false) => e.clone(),
        (None, _) => step.summary.clone(),
    };
    let kind = if step.kind == "test_api" { "test API".to_string() } else { step.kind.to_string() };
    let ok = step.ok || step.phase == "retry";
    let mark = if step.phase == "retry" { style("↻").yellow().to_string() } else { mark(ok) };
    let phase = if step.phase == "refresh" { style(" (refresh)").dim().to_string() } else { String::new() };
    // A Form's time is the person's, not the connector's.
    let took = if step.kind == "form" && step.summary.contains("asked") {
        style("(waiting for you)").dim().to_string()
    } else {
        ms(step.duration_ms)
    };
    format!("  {mark} {}{phase} {} {what} {took}", style(&step.id).bold(), style(kind).cyan())
}

/// Header and closing lines of one connector's result, in text mode.
pub fn result_header(r: &RunResult) -> String {
    format!("{} {}", style(&r.connector).bold(), style(format!("({}, {})", r.flow, r.file)).dim())
}

pub fn result_footer(r: &RunResult) -> Vec<String> {
    let mut lines = Vec::new();
    let took = style(format!("in {}", human_duration(r.duration.as_millis() as u64))).dim();
    let refreshed = match &r.refresh_reason {
        Some(why) if r.refreshed => format!(" after a refresh ({why})"),
        _ if r.refreshed && r.flow != "refresh" => " after a refresh".to_string(),
        _ => String::new(),
    };
    if r.ok {
        let what = if r.test_api.is_some() { "passed" } else { "passed (no test_api defined)" };
        lines.push(format!("{} {} {} {what}{refreshed} {took}", mark(true), r.connector, r.flow));
        if let Some(cached) = &r.cached {
            lines.push(format!("  {}", style(cached).dim()));
        }
    } else {
        lines.push(format!(
            "{} {} {} failed: {} {took}",
            mark(false),
            r.connector,
            r.flow,
            r.error.as_deref().unwrap_or("unknown error")
        ));
        if let Some(h) = &r.hint {
            lines.push(format!("  {} {h}", style("hint:").cyan()));
        }
    }
    lines
}

/// The text of a `test` run as it goes, made only from the run's [`Event`]s:
/// step lines, and the spinners while a request waits. With one connector the
/// lines print as they come; with several, each connector's lines are kept
/// and printed as one block when it is done, so that blocks never interleave
/// and hold exactly the lines a run of that connector alone prints.
/// While a person is asked something (a prompt, a browser), every spinner
/// pauses: that connector holds the terminal.
pub struct Live {
    immediate: bool,
    text: bool,
    bars: Option<indicatif::MultiProgress>,
    state: std::sync::Mutex<LiveState>,
}

#[derive(Default)]
struct LiveState {
    spinning: std::collections::HashMap<String, indicatif::ProgressBar>,
    /// Connectors waiting for a person (at most one holds the terminal at a time).
    waiting: std::collections::HashSet<String>,
    lines: std::collections::HashMap<String, Vec<String>>,
}

impl Live {
    /// `immediate`: print lines as they come (one connector); `text`: lines at
    /// all (not in JSON mode); `spinners`: stderr is a terminal.
    pub fn new(immediate: bool, text: bool, spinners: bool) -> std::sync::Arc<Live> {
        let bars =
            spinners.then(|| indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::stderr()));
        std::sync::Arc::new(Live { immediate, text, bars, state: Default::default() })
    }

    pub fn hook(self: &std::sync::Arc<Self>) -> EventHook {
        let live = self.clone();
        std::sync::Arc::new(move |e: Event<'_>| live.handle(e))
    }

    fn handle(&self, event: Event<'_>) {
        let Ok(mut state) = self.state.lock() else { return };
        match event {
            Event::Busy { connector, label } => {
                stop(&mut state, connector);
                if let Some(bars) = &self.bars
                    && state.waiting.is_empty()
                {
                    let bar = bars.add(spinner_bar(&format!("{connector}: {label}")));
                    state.spinning.insert(connector.to_string(), bar);
                }
            }
            Event::Waiting { connector } => {
                state.waiting.insert(connector.to_string());
                for (_, bar) in state.spinning.drain() {
                    bar.finish_and_clear();
                }
            }
            Event::Resumed { connector } => {
                state.waiting.remove(connector);
            }
            Event::Line { connector, step } => {
                stop(&mut state, connector);
                if !self.text {
                    return;
                }
                let line = step_line(step);
                if self.immediate {
                    out(&line);
                } else {
                    state.lines.entry(connector.to_string()).or_default().push(line);
                }
            }
        }
    }

    /// What follows a finished connector's run: its footer, after its header
    /// and lines when those were kept for a block.
    pub fn block(&self, r: &RunResult) -> Vec<String> {
        let kept = self.state.lock().ok().map(|mut s| {
            stop(&mut s, &r.connector);
            s.lines.remove(&r.connector).unwrap_or_default()
        });
        let mut lines = Vec::new();
        if !self.immediate {
            lines.push(result_header(r));
            lines.extend(kept.unwrap_or_default());
        }
        lines.extend(result_footer(r));
        lines
    }
}

fn stop(state: &mut LiveState, connector: &str) {
    if let Some(bar) = state.spinning.remove(connector) {
        bar.finish_and_clear();
    }
}

pub fn summary(results: &[RunResult]) -> String {
    let passed = results.iter().filter(|r| r.ok).count();
    let failed = results.len() - passed;
    let text = format!("{passed} passed, {failed} failed");
    if failed == 0 { style(text).green().to_string() } else { style(text).red().to_string() }
}

/// The JSON document of `test` commands (SPEC §1), masked.
pub fn json_results(results: &[RunResult]) -> Value {
    let value = json!({ "results": results });
    masker().mask_json(&value)
}

pub fn print_json(value: &Value) {
    let masked = masker().mask_json(value);
    raw_out(&serde_json::to_string_pretty(&masked).unwrap_or_default());
}

fn xml_escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&apos;".into(),
            c => c.to_string(),
        })
        .collect()
}

/// JUnit XML: one testsuite, one testcase per connector and flow.
pub fn write_junit(path: &Path, results: &[RunResult]) -> Result<(), Error> {
    // JUnit's split: a `failure` is the connector not working (exit 1), an
    // `error` is the run not getting that far (usage, input, environment, network).
    let failures = results.iter().filter(|r| !r.ok && r.exit_code == 1).count();
    let errors = results.iter().filter(|r| !r.ok && r.exit_code != 1).count();
    let total: Duration = results.iter().map(|r| r.duration).sum();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"conntest\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{:.3}\">\n",
        results.len(),
        total.as_secs_f64()
    );
    for r in results {
        // No `file` attribute: the Jenkins schema (tests/fixtures/junit) does not allow one on a testcase.
        xml.push_str(&format!(
            "  <testcase classname=\"conntest.{}\" name=\"{} {}\" time=\"{:.3}\"",
            xml_escape(&r.connector),
            xml_escape(&r.connector),
            r.flow,
            r.duration.as_secs_f64()
        ));
        if r.ok {
            xml.push_str("/>\n");
            continue;
        }
        let mut message = masker().mask(r.error.as_deref().unwrap_or("failed"));
        if let Some(hint) = &r.hint {
            message = format!("{message}\nhint: {}", masker().mask(hint));
        }
        if r.exit_code == 1 {
            let step = r.steps.iter().find(|s| !s.ok).map(|s| s.id.clone()).unwrap_or_else(|| "test_api".into());
            xml.push_str(&format!(
                ">\n    <failure message=\"step {} failed\" type=\"{}\">{}</failure>\n  </testcase>\n",
                xml_escape(&step),
                xml_escape(&step),
                xml_escape(&message)
            ));
        } else {
            let kind = match r.exit_code {
                2 => "usage",
                3 => "input-needed",
                4 => "environment",
                5 => "unreachable",
                _ => "interrupted",
            };
            xml.push_str(&format!(
                ">\n    <error message=\"{} (exit {})\" type=\"{kind}\">{}</error>\n  </testcase>\n",
                xml_escape(r.error.as_deref().map(|e| masker().mask(e)).as_deref().unwrap_or(kind)),
                r.exit_code,
                xml_escape(&message)
            ));
        }
    }
    xml.push_str("</testsuite>\n");
    write_private(path, &xml)
}

/// Checks up front that a report file can be written (a usage error, exit 2,
/// before any request): its directory is created and must accept a new file.
pub fn check_writable(flag: &str, path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let bad = |why: String| {
        Error::usage(
            format!("{flag} {}: cannot be written ({why})", path.display()),
            Some("choose a writable path".to_string()),
        )
    };
    if path.is_dir() {
        return Err(bad("it is a directory".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    let probe = dir.join(format!(".conntest-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| bad(e.to_string()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Writes a report file that only the user can read, replacing any old one in
/// one step: a temp file (0600) in the same dir, synced, then renamed over it.
/// A reader never sees a half-written report, and an old 0644 file does not
/// keep its mode.
fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    let fail = |source: std::io::Error| Error::Write { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::Builder::new().prefix(".conntest-report-").suffix(".tmp").tempfile_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

fn mask_header(name: &str, value: &str) -> String {
    let n = name.to_ascii_lowercase();
    if masker().revealing() {
        return value.to_string();
    }
    let challenge = n == "www-authenticate" && (value.starts_with("NTLM ") || value.starts_with("Negotiate "));
    if n == "authorization" || n == "proxy-authorization" || challenge {
        return keep_scheme(value);
    }
    if n == "cookie" {
        // `Cookie: csrftoken=****; sessionid=****`: the names help, the values are secret.
        return value
            .split(';')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{}={MASK}", name.trim()),
                None => MASK.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    if n == "set-cookie" {
        // `sessionid=****; Path=/; HttpOnly`: attributes stay, the value goes.
        let mut parts = value.split(';');
        let first = match parts.next().and_then(|p| p.split_once('=')) {
            Some((name, _)) => format!("{}={MASK}", name.trim()),
            None => MASK.to_string(),
        };
        let attrs: Vec<String> = parts.map(|a| masker().mask(a.trim())).collect();
        return std::iter::once(first).chain(attrs).collect::<Vec<_>>().join("; ");
    }
    if is_secret_name(&n) { MASK.to_string() } else { masker().mask(value) }
}

/// `Bearer ****`, `OAuth ****`, `NTLM ****`: the scheme stays readable, the credentials do not.
fn keep_scheme(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            format!("{scheme} {MASK}")
        }
        _ => MASK.to_string(),
    }
}

fn rfc3339(t: std::time::SystemTime) -> String {
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
            json!({
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
            })
        })
        .collect();
    let har = json!({"log": {"version": "1.2", "creator": {"name": "conntest", "version": env!("CARGO_PKG_VERSION")}, "entries": entries}});
    let text = serde_json::to_string_pretty(&har).unwrap_or_default();
    write_private(path, &text)
}

/// A body with secret JSON fields masked by name and known secrets by value.
fn mask_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v.is_object() || v.is_array() => masker().mask_json(&v).to_string(),
        _ => {
            // Form bodies: mask values of secret-named fields.
            if body.contains('=') && !body.contains(' ') && !masker().revealing() {
                let pairs: Vec<String> = url::form_urlencoded::parse(body.as_bytes())
                    .map(|(n, v)| {
                        let v = if is_secret_name(&n) { MASK.to_string() } else { masker().mask(&v) };
                        format!("{n}={v}")
                    })
                    .collect();
                return masker().mask(&pairs.join("&"));
            }
            masker().mask(body)
        }
    }
}

const VERBOSE_BODY_LIMIT: usize = 4000;

/// `-v`: one exchange on stderr. Everything in it came from outside, so all
/// of it is [`printable`].
pub fn print_exchange(e: &Exchange) {
    let url = printable(&e.url).into_owned();
    let mut lines = vec![format!("{} {} {url}", style(">").cyan(), style(printable(&e.method)).bold())];
    let header = |n: &str, v: &str| format!("{}: {}", printable(n), printable(&mask_header(n, v)));
    for (n, v) in &e.request_headers {
        lines.push(format!("{} {}", style(">").cyan(), header(n, v)));
    }
    if let Some(b) = &e.request_body {
        lines.push(format!("{} {}", style(">").cyan(), printable(&truncate(&mask_body(b)))));
    }
    match (e.status, &e.error) {
        (Some(s), _) => {
            lines.push(format!("{} {} {}", style("<").magenta(), style(s).bold(), ms(e.duration.as_millis() as u64)))
        }
        (None, Some(err)) => {
            lines.push(format!("{} {} {}", style("<").magenta(), style("error").red(), printable(err)))
        }
        _ => {}
    }
    for (n, v) in &e.response_headers {
        lines.push(format!("{} {}", style("<").magenta(), header(n, v)));
    }
    if let Some(b) = &e.response_body
        && !b.is_empty()
    {
        lines.push(format!("{} {}", style("<").magenta(), printable(&truncate(&mask_body(b)))));
    }
    err(&lines.join("\n"));
}

fn truncate(s: &str) -> String {
    if s.len() > VERBOSE_BODY_LIMIT {
        let cut: String = s.chars().take(VERBOSE_BODY_LIMIT).collect();
        format!("{cut}… ({} bytes)", s.len())
    } else {
        s.to_string()
    }
}

/// An aligned table: a header row, then the rows, columns two spaces apart.
/// Widths are measured as the terminal shows them (colours and `→` included);
/// the last column is not padded, so a long description does not push
/// anything else out of line.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let width = |s: &str| console::measure_text_width(s);
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            text.push_str(cell);
            if i < last {
                text.push_str(&" ".repeat(widths[i] - width(cell) + 2));
            }
        }
        text.trim_end().to_string()
    };
    let mut lines = vec![line(header.iter().map(|h| style(h).bold().to_string()).collect())];
    lines.extend(rows.iter().map(|r| line(r.clone())));
    lines
}
