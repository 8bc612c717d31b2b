//! One HTTP exchange as a person may see it: headers masked with their
//! structure kept (`Bearer ****`, cookie names), bodies masked by name and
//! value; `-v` prints it on stderr.

use console::style;
use serde_json::Value;

use super::lines::*;

use crate::http::Exchange;
use crate::output::{err, printable};
use crate::secret::{MASK, is_secret_name, masker};

pub(crate) fn mask_header(name: &str, value: &str) -> String {
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
pub(crate) fn keep_scheme(value: &str) -> String {
    match value.split_once(' ') {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            format!("{scheme} {MASK}")
        }
        _ => MASK.to_string(),
    }
}

/// A body with secret JSON fields masked by name and known secrets by value.
pub(crate) fn mask_body(body: &str) -> String {
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

pub(crate) const VERBOSE_BODY_LIMIT: usize = 4000;

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

pub(crate) fn truncate(s: &str) -> String {
    if s.len() > VERBOSE_BODY_LIMIT {
        let cut: String = s.chars().take(VERBOSE_BODY_LIMIT).collect();
        format!("{cut}… ({} bytes)", s.len())
    } else {
        s.to_string()
    }
}
