//! Building the validated connector from the raw file: every section and
//! every step checked in order (the `Checker` holds the rules), so that the
//! model downstream cannot be invalid.

use std::path::Path as FsPath;

use super::check::{Checker, valid_id, valid_name};
use super::diagnostic::{Diagnostics, did_you_mean};
use super::file::RawConnector;
use super::model::*;
use super::raw::RawSignIn;
use super::spans::Path;
use super::validated::*;
use crate::steps::catalogue::{RawStep, Step, StepDef};
use crate::template::GLOBALS;
use url::Url;

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
    let tls = raw.tls.as_ref().map(|t| {
        let path = root.key("tls");
        ClientTls {
            cert: ck.scalar(&path.key("client_cert"), &t.client_cert),
            key: ck.scalar(&path.key("client_key"), &t.client_key),
        }
    });
    let sign_in = raw.sign_in.as_ref().map(|s| {
        let path = root.key("sign_in");
        match s {
            RawSignIn::Oauth1(o) => SignIn::OAuth1 {
                consumer_key: ck.scalar(&path.key("consumer_key"), &o.consumer_key),
                consumer_secret: ck.scalar(&path.key("consumer_secret"), &o.consumer_secret),
                token: ck.scalar(&path.key("token"), &o.token),
                token_secret: ck.scalar(&path.key("token_secret"), &o.token_secret),
                method: o.signature_method.unwrap_or(crate::connector::raw::SignatureMethod::HmacSha1),
                realm: o.realm.as_ref().map(|r| ck.template(&path.key("realm"), r)),
            },
            RawSignIn::Ntlm(n) => SignIn::Ntlm(crate::steps::ntlm::config::NtlmCreds::build(
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
        let expect = ck.expect(&path.key("expect"), t.expect.as_ref());
        let name = t.name.clone().unwrap_or_else(|| format!("{} {}", request.method.as_str(), t.request.url));
        TestApi { name, request, expect }
    });
    if let Some(t) = &raw.test_api {
        body_parameters_fit(&mut ck, &root, &raw.request_parameters, &t.request);
    }

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
        tls,
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
        let secret_outputs = secret_outputs(ck, &spath.key("secret_outputs"), raw.secret_outputs(), &outputs);
        ck.visible.push((id.clone(), outputs));
        out.push(StepDef { id, kind: step, secret_outputs });
    }
    out
}

/// A request parameter `in: body` on a request that can never carry it (a GET
/// or HEAD, a raw `body`, a JSON body that is not an object) is an error here,
/// where the request is known — never a parameter silently dropped.
fn body_parameters_fit(
    ck: &mut Checker,
    root: &Path,
    params: &[crate::connector::raw::RawParameter],
    request: &crate::connector::raw::RawRequest,
) {
    let method = request.method.unwrap_or(Method::Get);
    let why = if matches!(method, Method::Get | Method::Head) {
        Some(format!("the test API is a {} request, which carries no body", method.as_str()))
    } else if request.body.is_some() {
        Some("the test API's request has a raw `body`".to_string())
    } else {
        match &request.json {
            Some(v) if !v.is_object() && !v.is_string() => {
                Some("the test API's JSON body is not an object".to_string())
            }
            _ => None,
        }
    };
    let Some(why) = why else { return };
    for (i, p) in params.iter().enumerate().filter(|(_, p)| p.location == Location::Body) {
        ck.d.value(
            &root.key("request_parameters").index(i).key("in"),
            format!("request parameter `{}` is `in: body` but {why}", p.name),
            "use `in: header` or `in: query`, or give the test API a `json:` object or `form:` body",
        );
    }
}

/// `secret_outputs` paths: dotted, non-empty segments, starting at an output
/// the step has when its outputs are known before running.
fn secret_outputs(ck: &mut Checker, path: &Path, raw: &[String], outputs: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let segments: Vec<String> = p.split('.').map(str::to_string).collect();
        if segments.iter().any(|s| s.trim().is_empty()) {
            ck.d.value(
                &path.index(i),
                format!("`{p}` is not an output path"),
                "write it like `signature` or `body.token`",
            );
            continue;
        }
        if !outputs.is_empty() && !outputs.contains(&segments[0]) {
            let mut hint = format!("outputs: {}", outputs.join(", "));
            if let Some(m) = did_you_mean(&segments[0], outputs.iter().map(String::as_str)) {
                hint = format!("did you mean `{m}`? {hint}");
            }
            ck.d.value(&path.index(i), format!("the step has no output `{}`", segments[0]), hint);
            continue;
        }
        out.push(segments);
    }
    out
}
