//! `conntest init NAME [--type TYPE]`: a commented starter connector in the
//! dir that passes `validate`; never written over an existing file.

use std::io::Write as _;
use std::path::Path;

use console::style;
use serde_json::json;

use crate::cli::{Format, Global, Starter};
use crate::connector::{check, load};
use crate::error::Error;
use crate::output;
use crate::report;
use crate::starter;

pub fn run(g: &Global, name: &str, kind: Starter) -> Result<(), Error> {
    if !check::valid_name(name) {
        let example = starter::suggest_name(name).unwrap_or_else(|| "acme".to_string());
        return Err(Error::usage(
            format!("`{name}` cannot name a connector: use lower-case letters, digits, `-` and `_`"),
            Some(format!("e.g. conntest init {example}")),
        ));
    }
    // A connector of that name already: its own file, or another that says `name: NAME`.
    if let Ok(existing) = load::resolve(name, &g.dir) {
        return Err(exists(name, &existing));
    }
    let text = starter::render(kind, name);
    let file = g.dir.join(format!("{name}.yaml"));
    // The starters are checked by the tests; this keeps a broken one from reaching a user.
    let connector = load::load_str(&file, &text)
        .map_err(|(d, _)| Error::failed(format!("the bundled `{kind:?}` starter is invalid: {d:?}")))?;
    std::fs::create_dir_all(&g.dir).map_err(|source| Error::Write { path: g.dir.clone(), source })?;
    write_new(&file, &text).map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => exists(name, &file),
        _ => Error::Write { path: file.clone(), source },
    })?;
    // The file's first line points editors at ./connector.schema.json: give them one.
    let schema = g.dir.join("connector.schema.json");
    let schema_written = write_new(&schema, &format!("{}\n", crate::commands::schema::text())).is_ok();
    // An environment to copy for staging, production…: the first init shows the shape.
    let envs = g.dir.join(load::ENVIRONMENTS);
    let environment = envs.join("local.yaml");
    let env_written =
        std::fs::create_dir_all(&envs).is_ok() && write_new(&environment, &environment_text(&connector)).is_ok();

    let steps: Vec<&str> = connector.auth_flow.iter().map(|s| s.kind.type_name()).collect();
    match g.format {
        Format::Json => report::print_json(&json!({
            "file": file.display().to_string(),
            "connector": name,
            "steps": steps,
            "schema": schema_written.then(|| schema.display().to_string()),
            "environment": env_written.then(|| environment.display().to_string()),
        })),
        Format::Text => {
            output::out(&format!(
                "{} wrote {} {}",
                style("✔").green(),
                file.display(),
                style(format!("({})", steps.join(" → "))).dim()
            ));
            if schema_written {
                output::out(&format!(
                    "{} wrote {} {}",
                    style("✔").green(),
                    schema.display(),
                    style("(editors read it through the file's first line)").dim()
                ));
            }
            if env_written {
                output::out(&format!(
                    "{} wrote {} {}",
                    style("✔").green(),
                    environment.display(),
                    style("(variables for `--env local`; copy it for staging, production…)").dim()
                ));
            }
            let dir =
                if g.dir == Path::new("connectors") { String::new() } else { format!(" --dir {}", g.dir.display()) };
            output::out("next: fill in your API's URLs and requests (the comments say where), then");
            output::out(&format!("  conntest{dir} validate {name}"));
            output::out(&format!("  conntest{dir} test auth {name}"));
        }
    }
    Ok(())
}

fn exists(name: &str, file: &Path) -> Error {
    Error::usage(
        format!("connector `{name}` already exists: {} (init never overwrites a file)", file.display()),
        Some(format!("choose another name, or edit {} (remove it first to start over)", file.display())),
    )
}

/// Creates `path` with `text`; fails when it exists, whatever is there.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// `environments/local.yaml` for a new connector: its non-secret variables
/// under its name, the shape every `--env NAME` file has.
fn environment_text(connector: &crate::connector::validated::Connector) -> String {
    let mut text = String::from(
        "# Variables for `conntest test … --env local` (copy this file to staging.yaml, prod.yaml…).\n\
         # `variables:` reach every connector; `connectors: {NAME: {variables: …}}` one.\n\
         # Precedence, lowest first: the connector file's variables, this file (all connectors),\n\
         # this file (that connector), CONNTEST_VAR_*, --var. Keep secrets out of it:\n\
         # pass them with --input-env or CONNTEST_VAR_* from your secret store.\n\
         variables: {}\n\
         connectors:\n",
    );
    text.push_str(&format!("  {}:\n    variables:", connector.name));
    let vars: Vec<&(String, String)> =
        connector.variables.iter().filter(|(k, _)| !crate::secret::is_secret_name(k)).collect();
    if vars.is_empty() {
        text.push_str(" {}\n");
    }
    for (k, v) in vars {
        text.push_str(&format!("\n      {k}: {}", serde_json::Value::String(v.clone())));
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
