//! Every output conntest writes: text lines, the JSON document, JUnit XML, HAR,
//! `-v` exchange logs and spinners. All of it goes through the one masker.

use console::style;
use serde_json::{Value, json};

use crate::outcome::{Event, EventHook, RunResult};
use crate::output::{out, raw_out, spinner_bar};
use crate::secret::masker;

pub mod annotations;
pub mod exchange;
pub mod files;
pub mod har;
pub mod html;
pub mod junit;
pub mod lines;

pub use exchange::print_exchange;
pub use files::check_writable;
pub use har::write_har;
pub use html::write_html;
pub use junit::write_junit;
pub use lines::{human_duration, result_footer, result_header, step_line};

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
/// The JSON document of a run: each result (with the `--env` it ran in), then
/// a summary whose `exit_code` is the process's.
pub fn json_results(results: &[RunResult], env: Option<&str>) -> Value {
    let list: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("env".into(), env.map_or(Value::Null, |e| Value::String(e.to_string())));
            }
            v
        })
        .collect();
    let value = json!({ "results": list, "summary": json_summary(results) });
    masker().mask_json(&value)
}

/// The JSON document of a run that stopped before any connector ran (a usage
/// error, missing inputs): no results, a summary, the error and its hint.
pub fn json_error(e: &crate::error::Error) -> Value {
    let mut doc = json!({
        "results": [],
        "summary": {"passed": 0, "failed": 0, "exit_code": e.exit_code()},
        "error": {"message": e.to_string(), "hint": e.hint()},
    });
    if let crate::error::Error::MissingInputs { missing, .. } = e {
        doc["missing_inputs"] = missing
            .iter()
            .map(|(connector, step, field)| json!({"connector": connector, "step": step, "field": field}))
            .collect();
    }
    doc
}

/// `{"passed", "failed", "exit_code"}` of a run's results.
pub fn json_summary(results: &[RunResult]) -> Value {
    let passed = results.iter().filter(|r| r.ok).count();
    json!({
        "passed": passed,
        "failed": results.len() - passed,
        "exit_code": crate::error::most_severe(results.iter().map(|r| r.exit_code)),
    })
}

pub fn print_json(value: &Value) {
    let masked = masker().mask_json(value);
    raw_out(&serde_json::to_string_pretty(&masked).unwrap_or_default());
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
