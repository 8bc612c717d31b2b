//! `conntest schema`: the JSON Schema (2020-12) of the connector format.

use crate::error::Error;

pub fn run() -> Result<(), Error> {
    let mut schema = crate::connector::load::schema().clone();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "https://conntest.dev/schema/connector.json".into());
    }
    crate::report::raw_out(&serde_json::to_string_pretty(&schema).unwrap_or_default());
    Ok(())
}
