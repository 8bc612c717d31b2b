//! Running a `ntlm` step (the engine layer).

use super::config::*;
use crate::error::Error;
use crate::http::message::NtlmAuth;
use crate::request::{excerpt, prepare};
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
        let mut req = prepare(&self.request, cx.ctx, cx.base_url).map_err(|e| Error::failed(e.to_string()))?;
        let auth = self.creds.render(cx.ctx).map_err(Error::failed)?;
        let user =
            if auth.domain.is_empty() { auth.username.clone() } else { format!("{}\\{}", auth.domain, auth.username) };
        req.ntlm = Some(auth);
        let summary = format!("NTLM as {user}: {}", req.summary());
        let resp = cx.http.send(req).await.map_err(Error::from)?;
        let summary = format!("{summary} → {}", resp.status);
        if resp.status == 401 {
            return Err(Error::failed(format!("{summary}: credentials rejected ({})", excerpt(&resp.body))));
        }
        crate::expect::check(&self.expect, &resp, cx.ctx, &summary).map_err(Error::failed)?;
        Ok(StepDone { outputs: crate::steps::api_request::run::outputs(&resp), summary })
    }
}
