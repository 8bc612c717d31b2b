//! Runs flows: render → execute each step → record outputs; calls the test
//! API with request parameters; on a 401 refreshes once and retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::connector::model::Check;
use crate::connector::validated::{Connector, RefreshMode};
use crate::context::Context;
use crate::error::{EXIT_FAILED, EXIT_OK, Error};
use crate::http::{ExchangeHook, Http};
pub use crate::outcome::{Event, EventHook, RunResult, StepReport, TestApiReport};
use crate::prompt::Prompter;
use crate::request::{excerpt, prepare};
use crate::secret::{is_secret_name, masker};
use crate::steps::catalogue::{Step, StepDef};
use crate::steps::dispatch::StepCx;
use crate::template::{render_json, render_str};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Auth,
    Refresh,
    Api,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Auth => "auth",
            Flow::Refresh => "refresh",
            Flow::Api => "api",
        }
    }
}

pub struct Options {
    pub timeout: Duration,
    pub vars: Vec<(String, String)>,
    pub on_exchange: Option<ExchangeHook>,
    /// Told what the run does as it goes (the report layer's lines and spinners).
    pub on_event: Option<EventHook>,
    /// Whether stderr is a terminal that can show a browser step's spinner.
    pub spinner: bool,
    /// `--no-browser`: browser steps print their URL instead of opening it.
    pub no_browser: bool,
    /// `--sso-token-file`.
    pub sso_token_file: Option<std::path::PathBuf>,
    /// `--cacert`, `-k`.
    pub tls: crate::http::Tls,
}

/// The state of one connector's run: the context templates read, cookies, Form values.
pub struct Session {
    pub connector: Arc<Connector>,
    pub http: Http,
    /// `vars` plus one entry per step id that has run, each held once.
    pub ctx: Context,
    /// Form values by step id, cached for `use_stored_credentials`.
    pub form_values: Map<String, Value>,
    pub prompter: Prompter,
    base_url: Option<String>,
    options: Arc<Options>,
}

/// The variables of a connector: file, then `CONNTEST_VAR_*`, then `--var`.
fn variables(connector: &Connector, overrides: &[(String, String)]) -> Map<String, Value> {
    let mut vars = Map::new();
    for (k, v) in &connector.variables {
        vars.insert(k.clone(), Value::String(v.clone()));
    }
    for (name, v) in crate::vars::from_env() {
        vars.insert(name.clone(), Value::String(v.clone()));
    }
    for (k, v) in overrides {
        vars.insert(k.clone(), Value::String(v.clone()));
    }
    for (k, v) in &vars {
        if is_secret_name(k)
            && let Value::String(s) = v
        {
            masker().learn(s);
        }
    }
    vars
}

impl Session {
    pub fn new(connector: Arc<Connector>, options: Arc<Options>, prompter: Prompter) -> Result<Session, Error> {
        let http = Http::new(connector.cookies.clone(), options.timeout, options.on_exchange.clone(), &options.tls)
            .map_err(|e| Error::environment(e, None))?;
        let mut ctx = Context::new();
        ctx.set("vars", &Value::Object(variables(&connector, &options.vars)));
        let base_url = match &connector.base_url {
            Some(t) => Some(t.render(&ctx).map_err(|e| Error::failed(format!("base_url: {e}")))?),
            None => None,
        };
        Ok(Session { connector, http, ctx, form_values: Map::new(), prompter, base_url, options })
    }

    /// Puts cached outputs, Form values and cookies back.
    pub fn restore(
        &mut self,
        outputs: Map<String, Value>,
        form_values: Map<String, Value>,
        cookies: &[crate::http::CookieRecord],
    ) {
        for (id, v) in outputs {
            // Outputs are secret by their own names; a step id is not a field name.
            masker().learn_json("", &v);
            if id != "vars" {
                self.ctx.set(&id, &v);
            }
        }
        for v in form_values.values() {
            masker().learn_json("", v);
        }
        self.form_values = form_values;
        self.http.load_cookies(cookies);
    }

    /// Step outputs as they stand (what gets cached).
    pub fn outputs(&self) -> Map<String, Value> {
        self.ctx.outputs()
    }

    /// What to cache now: of the outputs only what a later run reads (and any
    /// `expires_at`), Form values only for `use_stored_credentials`, the cookie jar.
    pub fn cache_entry(&self) -> crate::cache::Entry {
        let stored = matches!(
            self.connector.refresh.as_ref().map(|r| &r.mode),
            Some(RefreshMode::SameAsAuth { use_stored_credentials: true })
        );
        crate::cache::Entry {
            version: crate::cache::FORMAT_VERSION,
            connector: self.connector.name.clone(),
            saved_at: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            outputs: keep(&self.outputs(), &self.connector.cached_paths),
            inputs: if stored { self.form_values.clone() } else { Map::new() },
            cookies: self.http.cookies(),
            fingerprint: Some(self.connector.fingerprint.as_str().to_string()),
        }
    }

    fn event(&self, event: Event<'_>) {
        if let Some(f) = &self.options.on_event {
            f(event);
        }
    }

    fn emit(&self, report: &StepReport) {
        self.event(Event::Line { connector: &self.connector.name, step: report });
    }

    async fn run_steps(
        &mut self,
        steps: &[StepDef],
        phase: &'static str,
        reports: &mut Vec<StepReport>,
    ) -> Result<(), Error> {
        for def in steps {
            let started = Instant::now();
            let person = def.kind.waits_for_person();
            let connector = self.connector.name.as_str();
            self.event(if person { Event::Waiting { connector } } else { Event::Busy { connector, label: &def.id } });
            let cx = StepCx {
                id: &def.id,
                connector: &self.connector.name,
                no_browser: self.options.no_browser,
                spinner: self.options.spinner,
                sso_token_file: self.options.sso_token_file.as_deref(),
                ctx: &self.ctx,
                http: &self.http,
                base_url: self.base_url.as_deref(),
                prompter: &self.prompter,
            };
            let result = def.kind.run(&cx).await;
            if person {
                self.event(Event::Resumed { connector });
            }
            let duration_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(done) => {
                    let outputs = Value::Object(done.outputs);
                    masker().learn_json("", &outputs);
                    if matches!(def.kind, Step::Form(_)) {
                        self.form_values.insert(def.id.clone(), outputs.clone());
                    }
                    self.ctx.set(&def.id, &outputs);
                    let report = StepReport {
                        id: def.id.clone(),
                        kind: def.kind.type_name(),
                        ok: true,
                        duration_ms,
                        summary: done.summary,
                        outputs: Some(outputs),
                        error: None,
                        phase,
                    };
                    self.emit(&report);
                    reports.push(report);
                }
                Err(e) => {
                    let report = StepReport {
                        id: def.id.clone(),
                        kind: def.kind.type_name(),
                        ok: false,
                        duration_ms,
                        summary: String::new(),
                        outputs: None,
                        error: Some(e.to_string()),
                        phase,
                    };
                    self.emit(&report);
                    reports.push(report);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Runs the refresh flow and applies `update_variables`.
    pub async fn refresh(&mut self, reports: &mut Vec<StepReport>) -> Result<(), Error> {
        let connector = self.connector.clone();
        let Some(refresh) = &connector.refresh else {
            return Err(Error::usage(
                format!("connector `{}` has no refresh_flow", connector.name),
                Some("add a `refresh_flow:` to the connector file".to_string()),
            ));
        };
        match &refresh.mode {
            RefreshMode::Steps(steps) => self.run_steps(steps, "refresh", reports).await?,
            RefreshMode::SameAsAuth { use_stored_credentials } => {
                self.prompter.use_stored(use_stored_credentials.then(|| self.form_values.clone()));
                let result = self.run_steps(&connector.auth_flow, "refresh", reports).await;
                self.prompter.use_stored(None);
                result?;
            }
        }
        // Every template reads the outputs as the refresh left them, before any update.
        let before = self.ctx.clone();
        for (path, template) in &refresh.update_variables {
            let value = render_json(template, &before)
                .map_err(|e| Error::failed(format!("update_variables `{}`: {e}", path.join("."))))?;
            masker().learn_json(path.last().map(String::as_str).unwrap_or(""), &value);
            let Some((step, rest)) = path.split_first() else { continue };
            let outputs_now = Value::Object(self.ctx.outputs());
            if lookup(&outputs_now, path).is_none() {
                let target = path.join(".");
                let mut known = Vec::new();
                all_paths("", &outputs_now, &mut known);
                let closest = known
                    .iter()
                    .map(|p| (strsim::jaro_winkler(p, &target), p))
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, p)| format!("; the closest existing path is `{p}`"))
                    .unwrap_or_default();
                return Err(Error::failed(format!(
                    "update_variables: `{target}` does not exist in the outputs{closest} (a misspelt key would otherwise be created silently)"
                )));
            }
            let mut outputs = self.ctx.get_json(step).unwrap_or_else(|| Value::Object(Map::new()));
            if rest.is_empty() {
                outputs = value;
            } else {
                if !outputs.is_object() {
                    outputs = Value::Object(Map::new());
                }
                if let Value::Object(map) = &mut outputs {
                    set_path(map, rest, value);
                }
            }
            self.ctx.set(step, &outputs);
        }
        Ok(())
    }

    /// Calls the test API with request parameters applied.
    pub async fn call_test_api(&self) -> Option<TestApiReport> {
        let test = self.connector.test_api.as_ref()?;
        let started = Instant::now();
        self.event(Event::Busy { connector: &self.connector.name, label: &test.name });
        let ctx = &self.ctx;
        let mut report = TestApiReport {
            name: test.name.clone(),
            status: None,
            ok: false,
            duration_ms: 0,
            summary: String::new(),
            error: None,
            unreachable: false,
            expired: false,
            hint: None,
        };
        let mut hint = None;
        let mut unreachable = false;
        let mut expired = false;
        let outcome = async {
            let mut req = prepare(&test.request, ctx, self.base_url.as_deref()).map_err(|e| format!("request.{e}"))?;
            for p in &self.connector.request_parameters {
                let value =
                    render_str(p.value.source(), ctx).map_err(|e| format!("request parameter `{}`: {e}", p.name))?;
                req.add(p.location, &p.name, &value);
            }
            self.sign(&mut req, ctx).map_err(|e| format!("sign_in: {e}"))?;
            report.summary = req.summary();
            let resp = self.http.send(req).await.map_err(|e| {
                unreachable = e.unreachable;
                hint = e.hint;
                e.message
            })?;
            report.status = Some(resp.status);
            report.summary = format!("{} → {}", report.summary, resp.outcome());
            if let Some(why) = self.connector.refresh_on.matches(resp.status, &resp.body) {
                expired = true;
                return Err(format!("{}: the credentials expired ({why}): {}", report.summary, excerpt(&resp.body)));
            }
            let status_ok = match &test.status {
                Some(list) => list.contains(&resp.status),
                None => (200..300).contains(&resp.status),
            };
            if !status_ok {
                let expected = match &test.status {
                    Some(list) => list.iter().map(u16::to_string).collect::<Vec<_>>().join(", "),
                    None => "2xx".into(),
                };
                return Err(format!("{}: expected status {expected} ({})", report.summary, excerpt(&resp.body)));
            }
            // Every failed expectation, with expected and actual; the body excerpt once.
            let mut failures = Vec::new();
            let mut show_body = false;
            for a in &test.assertions {
                let found = a.path.query(&resp.body).all();
                match &a.check {
                    Check::Exists(want) if found.is_empty() == *want => {
                        if *want {
                            show_body = true;
                            failures.push(format!("`{}` matched nothing", a.source));
                        } else {
                            failures.push(format!("`{}` should not exist but matched {}", a.source, found.len()));
                        }
                    }
                    Check::Equals(expected) => {
                        let expected = render_json(expected, ctx).map_err(|e| format!("expect `{}`: {e}", a.source))?;
                        match found.first() {
                            Some(v) if **v == expected => {}
                            Some(v) => failures.push(format!("`{}` is {v}, expected {expected}", a.source)),
                            None => {
                                show_body = true;
                                failures.push(format!("`{}` matched nothing, expected {expected}", a.source));
                            }
                        }
                    }
                    _ => {}
                }
            }
            if !failures.is_empty() {
                let body = if show_body { format!(" (body: {})", excerpt(&resp.body)) } else { String::new() };
                return Err(format!("{}{body}", failures.join("; ")));
            }
            Ok(())
        }
        .await;
        report.unreachable = unreachable;
        report.hint = hint;
        report.expired = expired;
        report.duration_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(()) => report.ok = true,
            Err(e) => report.error = Some(e),
        }
        Some(report)
    }

    /// Runs `flow` for this connector; the caller has restored the cache for refresh/api.
    pub async fn execute(&mut self, flow: Flow) -> RunResult {
        let started = Instant::now();
        let mut steps = Vec::new();
        let mut refreshed = false;
        let mut refresh_reason = None;
        let outcome: Result<Option<TestApiReport>, Error> = async {
            match flow {
                Flow::Auth => self.run_steps(&self.connector.clone().auth_flow, "auth", &mut steps).await?,
                Flow::Refresh => {
                    self.refresh(&mut steps).await?;
                    refreshed = true;
                }
                Flow::Api => {
                    if self.connector.refresh.is_some()
                        && let Some(why) = self.expiry_reason()
                    {
                        self.emit_note("cached token", &why);
                        self.refresh(&mut steps).await?;
                        refreshed = true;
                        refresh_reason = Some(why);
                    }
                }
            }
            let mut test = self.call_test_api().await;
            if !refreshed && self.connector.refresh.is_some() && test.as_ref().is_some_and(|t| t.expired) {
                if let Some(t) = &test {
                    self.emit_test(t, true);
                }
                self.refresh(&mut steps).await?;
                refreshed = true;
                test = self.call_test_api().await;
            }
            Ok(test)
        }
        .await;
        let mut result = RunResult {
            connector: self.connector.name.clone(),
            flow: flow.name(),
            ok: false,
            exit_code: EXIT_FAILED,
            refreshed,
            refresh_reason,
            steps,
            test_api: None,
            error: None,
            file: self.connector.file.display().to_string(),
            duration: Duration::ZERO,
            hint: None,
            cached: None,
        };
        match outcome {
            Ok(test) => {
                if let Some(t) = &test {
                    self.emit_test(t, false);
                }
                let failure = test.as_ref().and_then(|t| t.error.clone());
                result.ok = failure.is_none();
                let unreachable = test.as_ref().is_some_and(|t| t.unreachable);
                result.exit_code = match (result.ok, unreachable) {
                    (true, _) => EXIT_OK,
                    (false, true) => crate::error::EXIT_UNREACHABLE,
                    (false, false) => EXIT_FAILED,
                };
                result.hint = test.as_ref().and_then(|t| t.hint.clone());
                result.error = failure.map(|e| {
                    format!(
                        "test API `{}`: {e}",
                        self.connector.test_api.as_ref().map(|t| t.name.as_str()).unwrap_or("")
                    )
                });
                result.test_api = test;
            }
            Err(e) => {
                // Usage (2) and needs-input (3) keep their codes; anything else failed the connector.
                result.exit_code = e.exit_code().max(EXIT_FAILED);
                let failed_step = result.steps.iter().rev().find(|s| !s.ok).map(|s| s.id.clone());
                result.error = Some(match failed_step {
                    Some(id) => format!("step `{id}`: {e}"),
                    None => e.to_string(),
                });
                result.hint = e.hint();
            }
        }
        result.duration = started.elapsed();
        result
    }

    /// Applies `sign_in` to a resource call: an OAuth 1.0a signature over the
    /// request as sent, or NTLM on the call's connection.
    fn sign(&self, req: &mut crate::http::Request, ctx: &Context) -> Result<(), String> {
        use crate::connector::validated::SignIn;
        match &self.connector.sign_in {
            None => {}
            Some(SignIn::OAuth1 { consumer_key, consumer_secret, token, token_secret, method, realm }) => {
                let r = |t: &crate::template::Template, what: &str| t.render(ctx).map_err(|e| format!("{what}: {e}"));
                let creds = crate::oauth1::Credentials {
                    consumer_key: r(consumer_key, "consumer_key")?,
                    consumer_secret: crate::secret::Secret::new(r(consumer_secret, "consumer_secret")?)
                        .expose()
                        .to_string(),
                    token: Some(r(token, "token")?),
                    token_secret: crate::secret::Secret::new(r(token_secret, "token_secret")?).expose().to_string(),
                    method: *method,
                    realm: match realm {
                        Some(t) => Some(r(t, "realm")?),
                        None => None,
                    },
                };
                crate::oauth1::sign_request(&creds, req, &[]);
            }
            Some(SignIn::Ntlm(creds)) => req.ntlm = Some(creds.render(ctx)?),
        }
        Ok(())
    }

    /// Why the cached outputs need a refresh before any call: an `expires_at`
    /// (Unix seconds) that has passed or is less than 30 s away.
    fn expiry_reason(&self) -> Option<String> {
        let now = crate::template::unix_now() as i64;
        let soonest = self.ctx.outputs().values().filter_map(|v| v.get("expires_at").and_then(Value::as_i64)).min()?;
        let left = soonest - now;
        if left >= EXPIRY_MARGIN_SECS {
            return None;
        }
        Some(if left <= 0 {
            format!("token expired {} ago: refreshed before calling", human_secs(-left))
        } else {
            format!("token expires in {}: refreshed before calling", human_secs(left))
        })
    }

    /// A line of its own in the live output (a retry-style mark).
    fn emit_note(&self, id: &str, text: &str) {
        let report = StepReport {
            id: id.to_string(),
            kind: "expiry",
            ok: true,
            duration_ms: 0,
            summary: text.to_string(),
            outputs: None,
            error: None,
            phase: "retry",
        };
        self.emit(&report);
    }

    fn emit_test(&self, t: &TestApiReport, retrying: bool) {
        let mut error = t.error.clone();
        if retrying {
            let what = t.status.map(|s| s.to_string()).unwrap_or_else(|| "expired".into());
            error = Some(format!("{what}: the credentials expired: refreshing and retrying once"));
        }
        let report = StepReport {
            id: t.name.clone(),
            kind: "test_api",
            ok: t.ok,
            duration_ms: t.duration_ms,
            summary: t.summary.clone(),
            outputs: None,
            error,
            phase: if retrying { "retry" } else { "test" },
        };
        self.emit(&report);
    }
}

/// Refresh ahead of a call when a cached token has less than this left.
const EXPIRY_MARGIN_SECS: i64 = 30;

/// Seconds as people say them: `40 s`, `3 min`, `2 h`.
fn human_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The parts of `outputs` that `paths` reach (whole subtrees), plus each
/// step's `expires_at`: a later run needs nothing else.
fn keep(outputs: &Map<String, Value>, paths: &[Vec<String>]) -> Map<String, Value> {
    fn graft(dst: &mut Map<String, Value>, src: &Map<String, Value>, path: &[String]) {
        let Some((first, rest)) = path.split_first() else { return };
        let Some(value) = src.get(first) else { return };
        match (rest.is_empty(), value) {
            (false, Value::Object(inner)) => {
                let slot = dst.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    graft(slot, inner, rest);
                }
            }
            // A leaf, a list, or a path that goes on into a value: keep all of it.
            _ => {
                dst.insert(first.clone(), value.clone());
            }
        }
    }
    let mut out = Map::new();
    for path in paths {
        graft(&mut out, outputs, path);
    }
    for (id, value) in outputs {
        if value.get("expires_at").is_some() {
            graft(&mut out, outputs, &[id.clone(), "expires_at".into()]);
        }
    }
    out
}

/// The value at `path` (keys, or list indexes as numbers).
fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |node, seg| match node {
        Value::Object(m) => m.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Every path in `v` (mappings only), for "did you mean".
fn all_paths(prefix: &str, v: &Value, out: &mut Vec<String>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            out.push(p.clone());
            if out.len() < 10_000 {
                all_paths(&p, child, out);
            }
        }
    }
}

/// Sets `ctx[a][b][c] = value`, creating mappings on the way.
fn set_path(ctx: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        ctx.insert(first.clone(), value);
        return;
    }
    let entry = ctx.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(map) = entry {
        set_path(map, rest, value);
    }
}

#[cfg(test)]
mod tests {
    use super::set_path;
    use serde_json::{Map, json};

    #[test]
    fn set_path_updates_nested_outputs() {
        let mut ctx: Map<String, serde_json::Value> =
            json!({"login": {"body": {"access_token": "old", "keep": 1}}}).as_object().cloned().unwrap_or_default();
        set_path(&mut ctx, &["login".into(), "body".into(), "access_token".into()], json!("new"));
        assert_eq!(serde_json::Value::Object(ctx), json!({"login": {"body": {"access_token": "new", "keep": 1}}}));
    }
}
