//! Running a `form` step (the engine layer).

use super::config::*;
use crate::error::Error;
use crate::steps::dispatch::{StepCx, StepDone};

impl Form {
    pub async fn run(&self, cx: &StepCx<'_>) -> Result<StepDone, Error> {
        // Title and labels may name the connector's values ("Sign in to {{ vars.tenant }}").
        let render = |src: &str| crate::template::render_str(src, cx.ctx).map_err(Error::failed);
        let mut shown = Form { title: format!("{} ({})", render(&self.title)?, cx.connector), fields: Vec::new() };
        for f in &self.fields {
            let default = match &f.default {
                Some(d) => Some(render(d)?),
                None => None,
            };
            shown.fields.push(Field { label: render(&f.label)?, default, ..f.clone() });
        }
        let (outputs, sources) = cx.prompter.fill(cx.id, &shown).await?;
        Ok(StepDone { outputs, summary: sources })
    }
}
