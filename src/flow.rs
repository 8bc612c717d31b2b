//! Runs flows: render → execute each step → record outputs; calls the test
//! API with request parameters; on a 401 refreshes once and retries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::connector::validated::{Connector, RefreshMode};
use crate::context::Context;
use crate::error::{EXIT_FAILED, EXIT_OK, Error};
use crate::http::{ExchangeHook, Http};
pub use crate::outcome::{Event, EventHook, RunResult, StepReport, TestApiReport};
use crate::prompt::Prompter;
use crate::secret::masker;
use crate::steps::catalogue::{Step, StepDef};
use crate::steps::dispatch::StepCx;
use crate::template::render_json;

mod call;
mod lifecycle;
mod paths;
mod test_api;

pub use call::{AdHoc, Called};
use paths::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Auth,
    Refresh,
    Api,
    /// `test lifecycle`: auth, then refresh, in one process (see [`Session::lifecycle`]).
    Lifecycle,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Auth => "auth",
            Flow::Refresh => "refresh",
            Flow::Api => "api",
            Flow::Lifecycle => "lifecycle",
        }
    }
}

pub struct Options {
    pub timeout: Duration,
    pub vars: crate::vars::Overrides,
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
    /// The flow reports name this run after (HAR pages `CONNECTOR/FLOW`):
    /// set by `execute`, or by the caller when one result spans two flows.
    pub page: Option<&'static str>,
    current: &'static str,
    /// The step (or test API) running now: what a retry line names.
    current_step: Arc<std::sync::Mutex<String>>,
}

impl Session {
    pub fn new(connector: Arc<Connector>, options: Arc<Options>, prompter: Prompter) -> Result<Session, Error> {
        let mut ctx = Context::new();
        ctx.set("vars", &Value::Object(crate::vars::resolved(&connector, &options.vars)));
        let identity = client_identity(&connector, &options.tls, &ctx)?;
        let mut http =
            Http::new(connector.cookies.clone(), options.timeout, options.on_exchange.clone(), &options.tls, identity)
                .map_err(|e| Error::environment(e, None))?;
        let current_step = Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(on_event) = options.on_event.clone() {
            let (name, current) = (connector.name.clone(), current_step.clone());
            http.on_retry(Arc::new(move |text: &str| {
                let id = current.lock().map(|c| c.clone()).unwrap_or_default();
                let report = StepReport::note(id, "retry", text);
                on_event(Event::Line { connector: &name, step: &report });
            }));
        }
        let base_url = match &connector.base_url {
            Some(t) => Some(t.render(&ctx).map_err(|e| Error::failed(format!("base_url: {e}")))?),
            None => None,
        };
        Ok(Session {
            connector,
            http,
            ctx,
            form_values: Map::new(),
            prompter,
            base_url,
            options,
            page: None,
            current: Flow::Auth.name(),
            current_step,
        })
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
        let outputs = self.ctx.outputs();
        for def in self.connector.all_steps() {
            for p in &def.secret_outputs {
                let value = outputs.get(&def.id).and_then(|v| lookup(v, p));
                value.into_iter().for_each(|v| masker().learn_all(v));
            }
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
        let mut entry = self.cache_entry_kept();
        entry.masks = paths::dropped_secrets(&self.connector, &self.outputs(), &entry);
        entry
    }

    fn cache_entry_kept(&self) -> crate::cache::Entry {
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
            outputs: self.without_unstored(keep(&self.outputs(), &self.connector.cached_paths)),
            masks: None,
            inputs: if stored { self.form_values.clone() } else { Map::new() },
            cookies: self.http.cookies(),
            fingerprint: Some(self.connector.fingerprint.as_str().to_string()),
        }
    }

    /// Outputs minus every `store: false` Form value: a one-time code never reaches the keyring.
    fn without_unstored(&self, mut outputs: Map<String, Value>) -> Map<String, Value> {
        for def in &self.connector.auth_flow {
            if let (Step::Form(form), Some(Value::Object(m))) = (&def.kind, outputs.get_mut(&def.id)) {
                form.unstored().for_each(|k| drop(m.remove(k)));
            }
        }
        outputs
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
            let retries_before = self.http.retries();
            if let Ok(mut current) = self.current_step.lock() {
                current.clone_from(&def.id);
            }
            let person = def.kind.waits_for_person();
            self.http.set_source(format!("{}/{}", self.connector.name, self.current), &def.id);
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
                    for p in &def.secret_outputs {
                        lookup(&outputs, p).into_iter().for_each(|v| masker().learn_all(v));
                    }
                    if let Step::Form(form) = &def.kind {
                        let mut kept = outputs.clone();
                        if let Value::Object(m) = &mut kept {
                            form.unstored().for_each(|k| drop(m.remove(k)));
                        }
                        self.form_values.insert(def.id.clone(), kept);
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
                        retries: self.http.retries() - retries_before,
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
                        retries: self.http.retries() - retries_before,
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

    /// Runs `flow` for this connector; the caller has restored the cache for refresh/api.
    pub async fn execute(&mut self, flow: Flow) -> RunResult {
        let started = Instant::now();
        self.current = self.page.unwrap_or(flow.name());
        let mut steps = Vec::new();
        let mut refreshed = false;
        let mut refresh_reason = None;
        let outcome: Result<Option<TestApiReport>, Error> = async {
            match flow {
                Flow::Auth | Flow::Lifecycle => {
                    self.run_steps(&self.connector.clone().auth_flow, "auth", &mut steps).await?
                }
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
                if let Some(t) = test.as_mut().filter(|t| t.expired) {
                    t.hint = t.hint.take().or_else(|| self.sent_hint());
                }
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
            diagnostics: None,
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
        let report = StepReport::note(id.to_string(), "expiry", text);
        self.emit(&report);
    }
}

/// The client certificate of a connector's requests: its `tls:` (templates
/// over `vars`), else `--cert`/`--key`; read and checked before any request.
fn client_identity(
    connector: &Connector,
    tls: &crate::http::Tls,
    ctx: &Context,
) -> Result<Option<crate::http::Identity>, Error> {
    let files = match &connector.tls {
        Some(t) => {
            let r = |t: &crate::template::Template, what: &str| {
                t.render(ctx).map(std::path::PathBuf::from).map_err(|e| Error::usage(format!("tls.{what}: {e}"), None))
            };
            Some(crate::http::ClientFiles { cert: r(&t.cert, "client_cert")?, key: r(&t.key, "client_key")? })
        }
        None => tls.client.clone(),
    };
    let hint = || Some("give a PEM certificate and its unencrypted PEM private key".to_string());
    files.map(|f| f.load().map_err(|e| Error::usage(e, hint()))).transpose()
}
