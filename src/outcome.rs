//! What a run produced: per step, for the test API, and per connector and flow,
//! and the events a run emits as it goes. Every report (text, JSON, JUnit) is
//! written from these: the engine never prints.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ok: bool,
    pub duration_ms: u64,
    #[serde(skip)]
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which flow ran the step (auth, or refresh after a 401); `retry` for a
    /// test API call about to be retried, `note` for a line that is no step.
    #[serde(skip)]
    pub phase: &'static str,
    /// Requests of the step sent again after no answer (`--retry`).
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

impl StepReport {
    /// A line of its own in the live output (a retry, a refresh ahead of expiry):
    /// no step ran, nothing failed, so it has no duration to show.
    pub fn note(id: String, kind: &'static str, text: &str) -> StepReport {
        StepReport {
            id,
            kind,
            ok: true,
            duration_ms: 0,
            summary: text.to_string(),
            outputs: None,
            error: None,
            phase: "note",
            retries: 0,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct TestApiReport {
    pub name: String,
    pub status: Option<u16>,
    pub ok: bool,
    pub duration_ms: u64,
    #[serde(skip)]
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// No HTTP answer came back (exit 5).
    #[serde(skip)]
    pub unreachable: bool,
    /// What to do about the failure.
    #[serde(skip)]
    pub hint: Option<String>,
    /// The answer says the credentials expired (`refresh_on`).
    #[serde(skip)]
    pub expired: bool,
    /// Requests sent again after no answer (`--retry`).
    #[serde(skip_serializing_if = "is_zero")]
    pub retries: u32,
}

/// The result of one connector and flow, as every report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub connector: String,
    pub flow: &'static str,
    pub ok: bool,
    pub exit_code: u8,
    pub refreshed: bool,
    /// Why the refresh flow ran before the test API, when it was not a 401.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_reason: Option<String>,
    pub steps: Vec<StepReport>,
    pub test_api: Option<TestApiReport>,
    pub error: Option<String>,
    pub file: String,
    #[serde(skip)]
    pub duration: Duration,
    /// What to do about the failure (null when there is nothing to say).
    pub hint: Option<String>,
    /// An invalid connector file's diagnostics (the objects of `validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Value>,
    /// Where a successful run's outputs were cached, when they were.
    #[serde(skip)]
    pub cached: Option<String>,
}

/// What a connector's run tells the report layer as it goes. The report layer
/// turns these into lines and spinners; a run of several connectors and a run
/// of one get the same lines because both are made from the same events.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Work without a person in it began (a request, the test API): a spinner may show.
    Busy { connector: &'a str, label: &'a str },
    /// Waiting for a person (a prompt, a browser): other spinners pause.
    Waiting { connector: &'a str },
    /// The wait for a person ended.
    Resumed { connector: &'a str },
    /// A step or test API call finished, or a note (a retry, a refresh before calling).
    Line { connector: &'a str, step: &'a StepReport },
}

/// Receives a run's events (see [`Event`]).
pub type EventHook = Arc<dyn Fn(Event<'_>) + Send + Sync>;

impl RunResult {
    /// A result that ran nothing: the connector's run could not start, or failed as a whole.
    pub fn failed(
        name: String,
        file: String,
        flow: &'static str,
        code: u8,
        error: String,
        hint: Option<String>,
    ) -> RunResult {
        RunResult {
            connector: name,
            // A lifecycle that could not start failed in its first phase.
            flow: if flow == "lifecycle" { "auth" } else { flow },
            ok: false,
            exit_code: code,
            refreshed: false,
            refresh_reason: None,
            steps: Vec::new(),
            test_api: None,
            error: Some(error),
            file,
            duration: Duration::ZERO,
            hint,
            diagnostics: None,
            cached: None,
        }
    }

    /// The result of a connector whose run panicked (a bug: a library's or ours).
    pub fn crashed(name: String, file: String, flow: &'static str, e: tokio::task::JoinError) -> RunResult {
        let why = match e.try_into_panic() {
            Ok(payload) => payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string()),
            Err(e) => e.to_string(),
        };
        RunResult::failed(
            name,
            file,
            flow,
            crate::error::EXIT_FAILED,
            format!("internal error: the run stopped unexpectedly ({why})"),
            Some("this is a bug in conntest: please report it with the connector file (secrets removed)".to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector's panic unwinds to its task and becomes a failed result
    /// naming it: panics unwind in this build (the unwinder is linked
    /// statically on Linux, see build.rs), they do not abort the run.
    #[test]
    fn a_panicking_run_is_a_failed_result_not_an_abort() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let joined = runtime.block_on(async {
            tokio::spawn(async {
                let v: Vec<u8> = Vec::new();
                v[std::hint::black_box(3)]
            })
            .await
        });
        let Err(e) = joined else { panic!("the task did not panic") };
        let result = RunResult::crashed("acme".into(), "acme.yaml".into(), "auth", e);
        assert_eq!(result.exit_code, crate::error::EXIT_FAILED);
        let error = result.error.expect("an error");
        assert!(error.contains("index out of bounds: the len is 0 but the index is 3"), "{error}");
        assert!(result.hint.is_some_and(|h| h.contains("bug in conntest")));
    }
}
