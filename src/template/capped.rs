//! Rendering under the 4 MiB output cap: the writer templates render into,
//! and `tojson`/`pprint`/`join`/`string`, whose minijinja versions build the
//! whole text first (`[range(1000)|list] * 100000` is 10^8 numbers).

use minijinja::Value as JValue;

use super::{MAX_OUTPUT, invalid};

/// Fails when `value`'s compact JSON passes [`MAX_OUTPUT`]; stops serializing there.
pub(super) fn within_cap(value: &JValue) -> Result<(), minijinja::Error> {
    let mut counter = Capped::counting();
    match serde_json::to_writer(&mut counter, value) {
        Err(_) if counter.over => Err(invalid(format!("the value is larger than {MAX_OUTPUT} bytes as JSON"))),
        _ => Ok(()),
    }
}

/// minijinja's `tojson`, refused before it builds a text past [`MAX_OUTPUT`].
pub(super) fn tojson(
    value: &JValue,
    indent: Option<JValue>,
    kwargs: minijinja::value::Kwargs,
) -> Result<JValue, minijinja::Error> {
    within_cap(value)?;
    let text = minijinja::filters::tojson(value, indent, kwargs)?;
    if text.as_str().is_some_and(|t| t.len() > MAX_OUTPUT) {
        return Err(invalid(format!("tojson: the text is larger than {MAX_OUTPUT} bytes")));
    }
    Ok(text)
}

/// minijinja's `pprint`, written through a cap so it stops at [`MAX_OUTPUT`].
pub(super) fn pprint(value: &JValue) -> Result<String, minijinja::Error> {
    use std::fmt::Write as _;
    let mut out = CappedText(String::new());
    write!(out, "{value:#?}").map_err(|_| invalid(format!("pprint: the text is larger than {MAX_OUTPUT} bytes")))?;
    Ok(out.0)
}

/// minijinja's `join` (with its `attribute` as a plain name), written through
/// the cap: it stops at [`MAX_OUTPUT`] instead of joining 10^8 items.
pub(super) fn join(
    value: &JValue,
    joiner: Option<String>,
    attribute: Option<String>,
    kwargs: minijinja::value::Kwargs,
) -> Result<String, minijinja::Error> {
    use std::fmt::Write as _;
    let attribute = match attribute {
        Some(a) => Some(a),
        // Keyword arguments convert without the fuel: a list here is held to the cap.
        None => kwargs.get::<Option<JValue>>("attribute")?.map(|a| text(&a, "join")).transpose()?,
    };
    kwargs.assert_all_used()?;
    let too_large = || invalid(format!("join: the text is larger than {MAX_OUTPUT} bytes"));
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    if let Some(s) = value.as_str() {
        // A string joins its characters, as in minijinja.
        let joiner = joiner.unwrap_or_default();
        let mut out = CappedText(String::new());
        for (i, c) in s.chars().enumerate() {
            if i > 0 {
                out.write_str(&joiner).map_err(|_| too_large())?;
            }
            out.write_char(c).map_err(|_| too_large())?;
        }
        return Ok(out.0);
    }
    let items = value.try_iter()?;
    let joiner = joiner.unwrap_or_default();
    let mut out = CappedText(String::new());
    for (i, item) in items.enumerate() {
        let item = match &attribute {
            Some(name) => item.get_attr(name)?,
            None => item,
        };
        if i > 0 {
            out.write_str(&joiner).map_err(|_| too_large())?;
        }
        match item.as_str() {
            Some(s) => out.write_str(s),
            None => write!(out, "{item}"),
        }
        .map_err(|_| too_large())?;
    }
    Ok(out.0)
}

/// minijinja's `string`, written through the cap.
pub(super) fn string(value: &JValue) -> Result<JValue, minijinja::Error> {
    if value.as_str().is_some() {
        return Ok(value.clone());
    }
    Ok(JValue::from(text(value, "string")?))
}

/// `value` as text, refused past [`MAX_OUTPUT`] bytes (`filter` names who asked).
fn text(value: &JValue, filter: &str) -> Result<String, minijinja::Error> {
    use std::fmt::Write as _;
    if let Some(s) = value.as_str() {
        return Ok(s.to_string());
    }
    let mut out = CappedText(String::new());
    write!(out, "{value}").map_err(|_| invalid(format!("{filter}: the text is larger than {MAX_OUTPUT} bytes")))?;
    Ok(out.0)
}

struct CappedText(String);

impl std::fmt::Write for CappedText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.0.len() + s.len() > MAX_OUTPUT {
            return Err(std::fmt::Error);
        }
        self.0.push_str(s);
        Ok(())
    }
}

/// Rendered text, refused past [`MAX_OUTPUT`] bytes (or only counted).
pub(super) struct Capped {
    pub(super) text: Vec<u8>,
    len: usize,
    keep: bool,
    pub(super) over: bool,
}

impl Capped {
    pub(super) fn new() -> Self {
        Capped { text: Vec::new(), len: 0, keep: true, over: false }
    }
    pub(super) fn counting() -> Self {
        Capped { keep: false, ..Capped::new() }
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.len + buf.len() > MAX_OUTPUT {
            self.over = true;
            return Err(std::io::Error::other("template output too large"));
        }
        self.len += buf.len();
        if self.keep {
            self.text.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
