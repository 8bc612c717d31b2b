//! JUnit XML: one testsuite, one testcase per connector and flow.

use std::path::Path;
use std::time::Duration;

use super::files::*;
use crate::error::Error;

use crate::outcome::RunResult;
use crate::secret::masker;

pub(crate) fn xml_escape(s: &str) -> String {
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
        let out = system_out(r);
        if r.ok {
            xml.push_str(&format!(">\n{out}  </testcase>\n"));
            continue;
        }
        // The first line of the error: what a CI summary shows next to the test name.
        let first =
            masker().mask(r.error.as_deref().unwrap_or("failed")).lines().next().unwrap_or_default().to_string();
        let mut message = masker().mask(r.error.as_deref().unwrap_or("failed"));
        if let Some(hint) = &r.hint {
            message = format!("{message}\nhint: {}", masker().mask(hint));
        }
        if r.exit_code == 1 {
            let step = r.steps.iter().find(|s| !s.ok).map(|s| s.id.clone()).unwrap_or_else(|| "test_api".into());
            xml.push_str(&format!(
                ">\n    <failure message=\"{}\" type=\"{}\">{}</failure>\n{out}  </testcase>\n",
                xml_escape(&first),
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
                ">\n    <error message=\"{}\" type=\"{kind}\">{}</error>\n{out}  </testcase>\n",
                xml_escape(&first),
                xml_escape(&message)
            ));
        }
    }
    xml.push_str("</testsuite>\n");
    write_private(path, &xml)
}

/// A testcase's `system-out`: its step and test API lines as text mode
/// prints them, uncoloured and masked (empty when nothing ran).
fn system_out(r: &RunResult) -> String {
    let mut lines: Vec<String> = r.steps.iter().map(super::lines::step_line).collect();
    if let Some(t) = &r.test_api {
        let what = t.error.clone().unwrap_or_else(|| t.summary.clone());
        let mark = if t.ok { "✔" } else { "✘" };
        lines.push(format!("  {mark} {} test API {what} {}", t.name, super::lines::human_duration(t.duration_ms)));
    }
    if lines.is_empty() {
        return String::new();
    }
    let text = console::strip_ansi_codes(&lines.join("\n")).into_owned();
    format!("    <system-out>{}</system-out>\n", xml_escape(&masker().mask(&text)))
}
