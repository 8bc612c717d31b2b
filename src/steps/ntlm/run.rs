//! Running a `ntlm` step (the engine layer).

use super::config::*;
use crate::error::Error;
use crate::http::Request;
use crate::http::message::NtlmAuth;
use crate::request::excerpt;
use crate::secret::Secret;
use crate::steps::dispatch::{StepCx, StepDone};
use crate::template::Template;

impl NtlmCreds {
    pub fn render(&self, ctx: &crate::context::Context) -> Result<NtlmAuth, String> {
        let r = |t: &Template, what: &str| t.render(ctx).map_err(|e| format!("{what}: {e}"));
        Ok(NtlmAuth {
            username: r(&self.username, "username")?,
            password: Secret::new(r(&self.password, "password")?),
            domain: match &self.domain {
                Some(d) => r(d, "domain")?,
                None => String::new(),
            },
            workstation: match &self.workstation {
                Some(w) => r(w, "workstation")?,
                None => "CONNTEST".into(),
            },
        })
    }
}

impl Ntlm {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let url = crate::steps::dispatch::absolute(
            cx,
            &self.url.render(cx.ctx).map_err(|e| Error::failed(format!("url: {e}")))?,
        )?;
        let auth = self.creds.render(cx.ctx).map_err(Error::failed)?;
        let user =
            if auth.domain.is_empty() { auth.username.clone() } else { format!("{}\\{}", auth.domain, auth.username) };
        let mut req = Request::new("GET", url);
        req.ntlm = Some(auth);
        let summary = format!("NTLM as {user}: {}", req.summary());
        let resp = cx.http.send(req).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.status);
        if resp.status >= 400 {
            let why = if resp.status == 401 { "credentials rejected" } else { "the server refused" };
            return Err(Error::failed(format!("{summary}: {why} ({})", excerpt(&resp.body))));
        }
        Ok(StepDone { outputs: crate::steps::api_request::run::outputs(&resp), summary })
    }
}
