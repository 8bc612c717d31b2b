//! `ntlm`: an NTLMv2 handshake on one pinned connection (`crate::ntlm`);
//! outputs the authenticated response like `api_request`.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{StepCx, StepDone};
use crate::connector::check::Checker;
use crate::connector::raw::Scalar;
use crate::connector::spans::Path;
use crate::error::Error;
use crate::http::Request;
use crate::ntlm::NtlmAuth;
use crate::request::excerpt;
use crate::secret::Secret;
use crate::template::Template;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Unique step id, `[a-z_][a-z0-9_]*`.
    pub id: String,
    /// The NTLM-protected URL (GET).
    pub url: String,
    pub username: Scalar,
    pub password: Scalar,
    /// Windows domain (optional).
    pub domain: Option<Scalar>,
    /// Workstation name sent in the handshake (default `CONNTEST`).
    pub workstation: Option<Scalar>,
}

/// The credentials of an NTLM sign-in, as templates (also `sign_in: {type: ntlm}`).
#[derive(Debug)]
pub struct NtlmCreds {
    pub username: Template,
    pub password: Template,
    pub domain: Option<Template>,
    pub workstation: Option<Template>,
}

impl NtlmCreds {
    pub fn build(
        path: &Path,
        ck: &mut Checker,
        username: &Scalar,
        password: &Scalar,
        domain: Option<&Scalar>,
        workstation: Option<&Scalar>,
    ) -> Self {
        NtlmCreds {
            username: ck.scalar(&path.key("username"), username),
            password: ck.scalar(&path.key("password"), password),
            domain: domain.map(|d| ck.scalar(&path.key("domain"), d)),
            workstation: workstation.map(|w| ck.scalar(&path.key("workstation"), w)),
        }
    }

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

#[derive(Debug)]
pub struct Ntlm {
    url: Template,
    creds: NtlmCreds,
}

impl Ntlm {
    pub fn build(raw: &Raw, path: &Path, ck: &mut Checker) -> Self {
        Ntlm {
            url: ck.template(&path.key("url"), &raw.url),
            creds: NtlmCreds::build(
                path,
                ck,
                &raw.username,
                &raw.password,
                raw.domain.as_ref(),
                raw.workstation.as_ref(),
            ),
        }
    }

    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        let url = super::absolute(cx, &self.url.render(cx.ctx).map_err(|e| Error::failed(format!("url: {e}")))?)?;
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
        Ok(StepDone { outputs: super::api_request::outputs(&resp), summary })
    }
}
