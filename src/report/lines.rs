//! The text lines of a run: one per step and test API call, a connector's
//! header and closing lines, durations as people read them.

use console::style;

use crate::outcome::{RunResult, StepReport};

pub(crate) fn mark(ok: bool) -> String {
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

pub(crate) fn ms(d: u64) -> String {
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
    // A note (a retry to come, a refresh ahead of expiry) took no time of its own.
    let note = step.phase == "note";
    let mark = if step.phase == "retry" || note { style("↻").yellow().to_string() } else { mark(step.ok) };
    let phase = if step.phase == "refresh" { style(" (refresh)").dim().to_string() } else { String::new() };
    // A Form's time is the person's, not the connector's.
    let took = if note {
        String::new()
    } else if step.kind == "form" && step.summary.contains("asked") {
        format!(" {}", style("(waiting for you)").dim())
    } else {
        format!(" {}", ms(step.duration_ms))
    };
    format!("  {mark} {}{phase} {} {what}{took}", style(&step.id).bold(), style(kind).cyan())
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
        if let Some(cached) = &r.cached {
            lines.push(format!("  {}", style(cached).dim()));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &str) -> String {
        console::strip_ansi_codes(line).into_owned()
    }

    /// Issue 18: a note (a retry to come, a refresh ahead of expiry) is no
    /// step and took no time: it ends with its text, not with ` 0 ms`.
    #[test]
    fn a_note_shows_no_duration_and_a_step_does() {
        let note = StepReport::note("me".into(), "retry", "connection refused; retry 1 of 3 in 1 s");
        assert_eq!(plain(&step_line(&note)), "  ↻ me retry connection refused; retry 1 of 3 in 1 s");
        let note = StepReport::note("me".into(), "expiry", "token expires in 12 s: refreshed before calling");
        assert_eq!(plain(&step_line(&note)), "  ↻ me expiry token expires in 12 s: refreshed before calling");
        let step = StepReport { phase: "auth", duration_ms: 0, summary: "GET /x → 200".into(), ..note.clone() };
        assert_eq!(plain(&step_line(&step)), "  ✔ me expiry GET /x → 200 0 ms");
        let retried = StepReport { phase: "retry", duration_ms: 12, ..step.clone() };
        assert_eq!(plain(&step_line(&retried)), "  ↻ me expiry GET /x → 200 12 ms");
    }

    /// The other shapes of a line: failed, passed with a warning, a refresh,
    /// the test API, a Form that waited for a person.
    #[test]
    fn every_kind_of_step_line() {
        let base = StepReport::note("s".into(), "api_request", "GET /x → 500");
        let base = StepReport { phase: "auth", duration_ms: 1500, ..base };
        let line = |r: StepReport| plain(&step_line(&r));
        assert_eq!(
            line(StepReport { ok: false, error: Some("500: boom".into()), ..base.clone() }),
            "  ✘ s api_request 500: boom 1.5 s"
        );
        assert_eq!(
            line(StepReport { error: Some("slow".into()), phase: "refresh", ..base.clone() }),
            "  ✔ s (refresh) api_request GET /x → 500 — slow 1.5 s"
        );
        assert_eq!(
            line(StepReport { kind: "test_api", phase: "test", ..base.clone() }),
            "  ✔ s test API GET /x → 500 1.5 s"
        );
        assert_eq!(
            line(StepReport { kind: "form", summary: "asked 2 fields".into(), ..base.clone() }),
            "  ✔ s form asked 2 fields (waiting for you)"
        );
        assert_eq!(
            line(StepReport { kind: "form", summary: "2 fields from flags".into(), ..base }),
            "  ✔ s form 2 fields from flags 1.5 s"
        );
    }
}
