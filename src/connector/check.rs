//! Semantic checks while turning raw types into the model: names, ids,
//! template syntax and references, refresh restrictions, `update_variables`.

use std::path::Path as FsPath;

use serde_json::Value;

use super::diagnostic::{Diagnostics, did_you_mean};
use super::model::*;
use super::raw::{RawConnector, RawRequest, RawSignIn, Scalar};
use super::spans::Path;
use crate::steps::{RawStep, Step, StepDef};
use crate::template::{self, GLOBALS, Template};
use url::Url;

/// Names minijinja itself provides.
const BUILTINS: [&str; 8] = ["range", "dict", "namespace", "loop", "self", "lipsum", "cycler", "joiner"];

pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Validation state while building one connector.
pub struct Checker<'a> {
    pub d: Diagnostics<'a>,
    /// Steps a template may read here, with their outputs.
    visible: Vec<(String, Vec<String>)>,
    /// Steps that exist but run after this point.
    later: Vec<String>,
    /// The step being checked: its templates cannot read its own outputs.
    current: Option<String>,
    variables: Vec<String>,
    has_base_url: bool,
    /// Steps set aside for structural errors: known ids, outputs unchecked.
    opaque: Vec<Path>,
    /// The connector file, for steps that name their own lines at run time.
    pub file: String,
    /// When set, every reference a template makes is also recorded here
    /// (what runs from the cache reads: what the cache must keep).
    collect: Option<Vec<Vec<String>>>,
}

impl<'a> Checker<'a> {
    /// Checks a template's syntax and every name it reads.
    pub fn template(&mut self, path: &Path, src: &str) -> Template {
        match template::references(src) {
            Err(message) => self.d.value(path, message, "check the `{{ … }}` and `{% … %}` delimiters"),
            Ok(refs) => {
                for (message, suggestion) in template::unknown_callables(src) {
                    let hint = match suggestion {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => "see the filters and functions in connectors/README.md".to_string(),
                    };
                    self.d.value(path, message, hint);
                }
                for r in refs {
                    self.reference(path, &r);
                    if let Some(c) = &mut self.collect {
                        c.push(r);
                    }
                }
            }
        }
        Template::new(src)
    }

    /// A problem at a line of the file (inside a multi-line value).
    pub fn invalid_at(&mut self, line: usize, column: usize, message: impl Into<String>, hint: impl Into<String>) {
        self.d.at(crate::connector::spans::Pos { line, column }, message, hint);
    }

    /// The file line where the text of the string at `path` starts.
    pub fn text_line(&self, path: &Path) -> usize {
        self.d.spans.text_line(path)
    }

    /// A problem a step's own checks found in the value at `path`.
    pub fn invalid(&mut self, path: &Path, message: impl Into<String>, hint: impl Into<String>) {
        self.d.value(path, message, hint);
    }

    pub fn scalar(&mut self, path: &Path, s: &Scalar) -> Template {
        self.template(path, &s.0)
    }

    /// Checks every string inside a JSON value as a template.
    pub fn json(&mut self, path: &Path, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                self.template(path, s);
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, item)| {
                self.json(&path.index(i), item);
            }),
            Value::Object(map) => map.iter().for_each(|(k, item)| {
                self.json(&path.key(k.clone()), item);
            }),
            _ => {}
        }
        v.clone()
    }

    fn reference(&mut self, path: &Path, r: &[String]) {
        let Some(first) = r.first() else { return };
        if GLOBALS.contains(&first.as_str()) || BUILTINS.contains(&first.as_str()) {
            return;
        }
        if first == "vars" {
            if let Some(var) = r.get(1)
                && !self.variables.contains(var)
            {
                let mut hint = "declare it under `variables:` (then --var can override it)".to_string();
                if let Some(m) = did_you_mean(var, self.variables.iter().map(String::as_str)) {
                    hint = format!("did you mean `vars.{m}`?");
                }
                self.d.value(path, format!("unknown variable `vars.{var}`"), hint);
            }
            return;
        }
        if let Some((_, outputs)) = self.visible.iter().find(|(id, _)| id == first) {
            if let Some(out) = r.get(1)
                && !outputs.is_empty()
                && !outputs.contains(out)
            {
                let mut hint = format!("outputs of `{first}`: {}", outputs.join(", "));
                if let Some(m) = did_you_mean(out, outputs.iter().map(String::as_str)) {
                    hint = format!("did you mean `{first}.{m}`? {hint}");
                }
                self.d.value(path, format!("step `{first}` has no output `{out}`"), hint);
            }
            return;
        }
        if self.current.as_deref() == Some(first) {
            self.d.value(
                path,
                format!("`{}` refers to the step it is written in", r.join(".")),
                "a step cannot read its own outputs: read them in a later step, `request_parameters` or `test_api`",
            );
            return;
        }
        if self.later.contains(first) {
            self.d.value(
                path,
                format!("`{}` refers to step `{first}`, which runs later", r.join(".")),
                "a step can only read the outputs of steps before it",
            );
            return;
        }
        let mut names: Vec<&str> = vec!["vars"];
        names.extend(self.visible.iter().map(|(id, _)| id.as_str()));
        let mut hint = format!("available: {}", names.join(", "));
        if let Some(m) = did_you_mean(first, names.iter().copied()) {
            hint = format!("did you mean `{m}`? {hint}");
        }
        self.d.value(path, format!("unknown name `{}` in template", r.join(".")), hint);
    }

    pub fn request(&mut self, path: &Path, raw: &RawRequest) -> RequestSpec {
        let url = self.template(&path.key("url"), &raw.url);
        if !raw.url.contains("{{") && Url::parse(&raw.url).is_err() && !self.has_base_url {
            self.d.value(
                &path.key("url"),
                format!("relative URL `{}` needs a `base_url`", raw.url),
                "add `base_url: https://…` at the top of the file, or write an absolute URL",
            );
        }
        let bodies = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            self.d.value(path, "a request has at most one of `json`, `form` and `body`", "keep one body");
        }
        let pairs = |ck: &mut Self, key: &str, map: &indexmap::IndexMap<String, Scalar>| {
            map.iter().map(|(k, v)| (k.clone(), ck.scalar(&path.key(key).key(k.clone()), v))).collect::<Vec<_>>()
        };
        let headers = pairs(self, "headers", &raw.headers);
        let query = pairs(self, "query", &raw.query);
        let body = if let Some(j) = &raw.json {
            BodySpec::Json(self.json(&path.key("json"), j))
        } else if let Some(f) = &raw.form {
            BodySpec::Form(pairs(self, "form", f))
        } else if let Some(b) = &raw.body {
            BodySpec::Text(self.template(&path.key("body"), b))
        } else {
            BodySpec::Empty
        };
        RequestSpec {
            method: raw.method.unwrap_or(Method::Get),
            url,
            headers,
            query,
            body,
            follow_redirects: raw.follow_redirects.unwrap_or(true),
        }
    }

    /// Checks a list of HTTP statuses.
    pub fn statuses(&mut self, path: &Path, statuses: &[u16]) {
        for (i, s) in statuses.iter().enumerate() {
            if !(100..=599).contains(s) {
                self.d.value(&path.index(i), format!("`{s}` is not an HTTP status"), "use a number from 100 to 599");
            }
        }
    }
}

/// Builds the model (`None` when any check failed, this one or an earlier one in `d`).
/// `opaque` steps were set aside for structural errors: their outputs are not checked.
pub fn build(
    raw: &RawConnector,
    file: &FsPath,
    d: Diagnostics<'_>,
    opaque: &[Path],
) -> (Option<Connector>, Vec<super::diagnostic::Diagnostic>) {
    let root = Path::root();
    let mut ck = Checker {
        d,
        visible: Vec::new(),
        later: Vec::new(),
        current: None,
        variables: raw.variables.keys().cloned().collect(),
        has_base_url: raw.base_url.is_some(),
        opaque: opaque.to_vec(),
        file: file.display().to_string(),
        collect: None,
    };
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = raw.name.clone().unwrap_or_else(|| stem.clone());
    if !valid_name(&name) {
        let (path, hint) = match raw.name {
            Some(_) => (root.key("name"), "use lower-case letters, digits, `_` and `-`".to_string()),
            None => {
                (root.clone(), format!("rename the file or add `name:` (the file stem `{stem}` is not a valid name)"))
            }
        };
        ck.d.value(&path, format!("invalid connector name `{name}`"), hint);
    }
    let base_url = raw.base_url.as_ref().map(|b| {
        let path = root.key("base_url");
        if !b.contains("{{") && Url::parse(b).is_err() {
            ck.d.value(&path, format!("`{b}` is not an absolute URL"), "write it like `https://api.example.com`");
        }
        ck.template(&path, b)
    });
    let variables: Vec<(String, String)> = raw.variables.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    let cookies = raw
        .cookies
        .as_ref()
        .map(|c| CookiePolicy {
            forward_all: c.forward_all,
            double_submit: c.double_submit.as_ref().map(|ds| DoubleSubmit {
                cookie: ds.cookie.clone(),
                name: ds.name.clone(),
                location: ds.location,
            }),
        })
        .unwrap_or_default();

    let refresh_raw: &[RawStep] = raw.refresh_flow.as_ref().map(|r| r.steps.as_slice()).unwrap_or(&[]);
    let mut seen_ids: Vec<String> = Vec::new();
    ck.later = raw.auth_flow.iter().map(|s| s.id().to_string()).collect();
    let auth_flow = steps(&mut ck, &raw.auth_flow, &root.key("auth_flow"), &mut seen_ids, false);
    let auth_visible = ck.visible.clone();

    // From here on, templates run from the cache too: record what they read.
    ck.collect = Some(Vec::new());
    let refresh = raw.refresh_flow.as_ref().map(|r| {
        let rpath = root.key("refresh_flow");
        ck.later = refresh_raw.iter().map(|s| s.id().to_string()).collect();
        let mode = if r.same_as_auth {
            if !r.steps.is_empty() {
                ck.d.key(
                    &rpath.key("steps"),
                    "`steps` is ignored when `same_as_auth` is true",
                    "remove `steps` or set `same_as_auth: false`",
                );
            }
            RefreshMode::SameAsAuth { use_stored_credentials: r.use_stored_credentials }
        } else {
            if r.use_stored_credentials {
                ck.d.key(
                    &rpath.key("use_stored_credentials"),
                    "`use_stored_credentials` only applies with `same_as_auth: true`",
                    "set `same_as_auth: true` or remove it",
                );
            }
            RefreshMode::Steps(steps(&mut ck, &r.steps, &rpath.key("steps"), &mut seen_ids, true))
        };
        let mut update_variables = Vec::new();
        for (target, value) in &r.update_variables {
            let path = rpath.key("update_variables").key(target.clone());
            let segs: Vec<String> = target.split('.').map(str::to_string).collect();
            match auth_visible.iter().find(|(id, _)| *id == segs[0]) {
                None => {
                    let ids: Vec<&str> = auth_visible.iter().map(|(id, _)| id.as_str()).collect();
                    let mut hint = format!("auth-flow steps: {}", ids.join(", "));
                    if let Some(m) = did_you_mean(&segs[0], ids.iter().copied()) {
                        hint = format!("did you mean `{m}`? {hint}");
                    }
                    ck.d.key(&path, format!("`{target}` does not name an auth-flow output"), hint);
                }
                Some((id, outputs)) => {
                    if segs.len() < 2 {
                        ck.d.key(
                            &path,
                            format!("`{target}` names a whole step"),
                            format!(
                                "name one of its outputs, e.g. `{id}.{}`",
                                outputs.first().map(String::as_str).unwrap_or("body")
                            ),
                        );
                    } else if !outputs.is_empty() && !outputs.contains(&segs[1]) {
                        ck.d.key(
                            &path,
                            format!("step `{id}` has no output `{}`", segs[1]),
                            format!("outputs of `{id}`: {}", outputs.join(", ")),
                        );
                    }
                }
            }
            if let Some(c) = &mut ck.collect {
                c.push(segs.clone());
            }
            update_variables.push((segs, ck.json(&path, value)));
        }
        Refresh { mode, update_variables }
    });

    // Resource calls read the auth outputs (as updated by a refresh).
    ck.visible = auth_visible;
    ck.later = refresh_raw.iter().map(|s| s.id().to_string()).collect();
    let request_parameters = raw
        .request_parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let path = root.key("request_parameters").index(i);
            Parameter { name: p.name.clone(), location: p.location, value: ck.scalar(&path.key("value"), &p.value) }
        })
        .collect();
    let sign_in = raw.sign_in.as_ref().map(|s| {
        let path = root.key("sign_in");
        match s {
            RawSignIn::Oauth1(o) => SignIn::OAuth1 {
                consumer_key: ck.scalar(&path.key("consumer_key"), &o.consumer_key),
                consumer_secret: ck.scalar(&path.key("consumer_secret"), &o.consumer_secret),
                token: ck.scalar(&path.key("token"), &o.token),
                token_secret: ck.scalar(&path.key("token_secret"), &o.token_secret),
                method: o.signature_method.unwrap_or(crate::oauth1::SignatureMethod::HmacSha1),
                realm: o.realm.as_ref().map(|r| ck.template(&path.key("realm"), r)),
            },
            RawSignIn::Ntlm(n) => SignIn::Ntlm(crate::steps::ntlm::NtlmCreds::build(
                &path,
                &mut ck,
                &n.username,
                &n.password,
                n.domain.as_ref(),
                n.workstation.as_ref(),
            )),
        }
    });
    let refresh_on = match &raw.refresh_on {
        None => RefreshOn::default(),
        Some(r) => {
            let path = root.key("refresh_on");
            if let Some(s) = &r.status {
                ck.statuses(&path.key("status"), s);
            }
            let body = r.body_matches.as_ref().and_then(|re| match regex::Regex::new(re) {
                Ok(re) => Some(re),
                Err(e) => {
                    let detail = e.to_string().lines().last().unwrap_or_default().trim().to_string();
                    ck.invalid(
                        &path.key("body_matches"),
                        format!("`body_matches` is not a valid regular expression: {detail}"),
                        "Rust regex syntax, e.g. \"(?i)token (expired|invalid)\"",
                    );
                    None
                }
            });
            RefreshOn { status: r.status.clone().unwrap_or_else(|| vec![401]), body }
        }
    };
    let test_api = raw.test_api.as_ref().map(|t| {
        let path = root.key("test_api");
        let mut request = ck.request(&path.key("request"), &t.request);
        // A session app bounces an unauthenticated call to its login page (200):
        // the test API follows redirects only when asked to.
        request.follow_redirects = t.request.follow_redirects.unwrap_or(false);
        let expect = t.expect.as_ref();
        let status = expect.and_then(|e| e.status.clone());
        if let Some(s) = &status {
            ck.statuses(&path.key("expect").key("status"), s);
        }
        let assertions = expect
            .map(|e| e.json.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let apath = path.key("expect").key("json").index(i);
                let parsed = serde_json_path::JsonPath::parse(&a.path)
                    .map_err(|e| {
                        ck.d.value(
                            &apath.key("path"),
                            format!("invalid JSONPath `{}`: {e}", a.path),
                            "write it like `$.user.email` (RFC 9535)",
                        )
                    })
                    .ok();
                let check = match (&a.equals, a.exists) {
                    (Some(v), None) => Some(Check::Equals(ck.json(&apath.key("equals"), v))),
                    (None, Some(e)) => Some(Check::Exists(e)),
                    _ => {
                        ck.d.value(
                            &apath,
                            "an assertion needs exactly one of `equals` and `exists`",
                            "add `equals: …` or `exists: true`",
                        );
                        None
                    }
                };
                Some(Assertion { path: parsed?, source: a.path.clone(), check: check? })
            })
            .collect();
        let name = t.name.clone().unwrap_or_else(|| format!("{} {}", request.method.as_str(), t.request.url));
        TestApi { name, request, status, assertions }
    });

    if !ck.d.list.is_empty() {
        return (None, ck.d.sorted());
    }
    let connector = Connector {
        name,
        description: raw.description.clone().filter(|d| !d.trim().is_empty()),
        file: file.to_path_buf(),
        base_url,
        variables,
        cookies,
        auth_flow,
        refresh,
        request_parameters,
        test_api,
        sign_in,
        refresh_on,
        cached_paths: ck.collect.take().unwrap_or_default(),
        fingerprint: Default::default(),
    };
    (Some(connector), Vec::new())
}

fn steps(ck: &mut Checker, raws: &[RawStep], path: &Path, seen: &mut Vec<String>, refresh: bool) -> Vec<StepDef> {
    let mut out = Vec::new();
    let mut sso_seen = false;
    for (i, raw) in raws.iter().enumerate() {
        let spath = path.index(i);
        if matches!(raw, RawStep::SsoToken(_)) {
            if sso_seen {
                ck.d.value(
                    &spath.key("type"),
                    "more than one `sso_token` step in this flow",
                    "one SSO token per flow: read the first step's `token` where it is needed again",
                );
            }
            sso_seen = true;
        }
        let id = raw.id().to_string();
        ck.later.retain(|l| *l != id);
        if !valid_id(&id) {
            ck.d.value(
                &spath.key("id"),
                format!("invalid step id `{id}`"),
                "use `[a-z_][a-z0-9_]*`, e.g. `login_form`",
            );
        } else if id == "vars" || GLOBALS.contains(&id.as_str()) {
            ck.d.value(&spath.key("id"), format!("step id `{id}` is reserved"), "choose another id");
        } else if seen.contains(&id) {
            ck.d.value(
                &spath.key("id"),
                format!("duplicate step id `{id}`"),
                "step ids must be unique across auth_flow and refresh_flow",
            );
        }
        ck.current = Some(id.clone());
        let step = Step::build(raw, &spath, ck);
        ck.current = None;
        if refresh && !step.allowed_in_refresh() {
            ck.d.value(
                &spath.key("type"),
                format!("step type `{}` is not allowed in the refresh flow", step.type_name()),
                "refresh steps may be api_request, totp, sso_token, js or oauth1; to sign in again use `same_as_auth: true`",
            );
        }
        seen.push(id.clone());
        let outputs = if ck.opaque.contains(&spath) { Vec::new() } else { step.output_names() };
        ck.visible.push((id.clone(), outputs));
        out.push(StepDef { id, kind: step });
    }
    out
}
