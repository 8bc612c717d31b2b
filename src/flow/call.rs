//! `conntest call`'s engine half: one ad-hoc request with the connector's
//! request parameters and `sign_in` applied, refreshed and retried once on a
//! `refresh_on` answer — the test API's machinery, for any path.

use super::{Session, StepReport};
use crate::error::Error;
use crate::http::{Body, Request, Response};

/// The request a person asked for: the method, a path (joined to `base_url`)
/// or an absolute URL, extra headers and a body.
pub struct AdHoc {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// What `call` got back, and whether it refreshed on the way.
pub struct Called {
    pub response: Response,
    pub refreshed: bool,
    /// The refresh steps that ran.
    pub steps: Vec<StepReport>,
}

impl Session {
    /// Runs the auth flow's steps only (`call --auth-first`).
    pub async fn sign_in(&mut self, reports: &mut Vec<StepReport>) -> Result<(), Error> {
        let connector = self.connector.clone();
        self.run_steps(&connector.auth_flow, "auth", reports).await
    }

    /// Sends `adhoc` with the connector's auth; on a `refresh_on` answer (or a
    /// cached token about to expire) runs the refresh flow and sends it again, once.
    pub async fn call(&mut self, adhoc: &AdHoc) -> Result<Called, Error> {
        let mut steps = Vec::new();
        let mut refreshed = false;
        if self.connector.refresh.is_some()
            && let Some(why) = self.expiry_reason()
        {
            self.emit_note("cached token", &why);
            self.refresh(&mut steps).await?;
            refreshed = true;
        }
        let mut response = self.send_adhoc(adhoc).await?;
        if !refreshed
            && self.connector.refresh.is_some()
            && self.connector.refresh_on.matches(response.status, &response.body).is_some()
        {
            self.emit_note(
                "call",
                &format!("{}: the credentials expired: refreshing and retrying once", response.status),
            );
            self.refresh(&mut steps).await?;
            refreshed = true;
            response = self.send_adhoc(adhoc).await?;
        }
        Ok(Called { response, refreshed, steps })
    }

    async fn send_adhoc(&self, adhoc: &AdHoc) -> Result<Response, Error> {
        let url = crate::request::join(self.base_url.as_deref(), adhoc.target.trim()).map_err(|e| {
            Error::usage(
                e,
                Some("give a path that starts with `/` (the connector's base_url) or a full URL".to_string()),
            )
        })?;
        self.http.set_source(format!("{}/call", self.connector.name), "call");
        let mut req = Request::new(&adhoc.method, url);
        req.headers.extend(adhoc.headers.iter().cloned());
        req.body = adhoc.body.clone();
        self.apply_auth(&mut req).map_err(Error::failed)?;
        self.http.send(req).await.map_err(|e| {
            if e.unreachable {
                Error::Unreachable { message: e.message, hint: e.hint }
            } else {
                Error::Failed { message: e.message }
            }
        })
    }
}
