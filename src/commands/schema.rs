//! `conntest schema`: the JSON Schema (2020-12) of the connector format, or
//! with `--results` of the result document a `--format json` test run prints.

use crate::error::Error;

/// The schema as `conntest schema` prints it (and `init` saves it beside a starter).
pub fn text() -> String {
    let mut schema = crate::connector::load::generated();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "https://conntest.dev/schema/connector.json".into());
    }
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

/// The JSON Schema of the result document of `test … --format json`.
pub const RESULTS: &str = include_str!("../report/results.schema.json");

pub fn run(results: bool) -> Result<(), Error> {
    crate::output::raw_out(&if results { RESULTS.trim_end().to_string() } else { text() });
    Ok(())
}
