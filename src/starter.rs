//! The starter connectors `conntest init` writes: one commented file per kind
//! of sign-in (src/starters/*.yaml), each valid as written once named.

use crate::cli::Starter;

/// The placeholder the starter files use for the connector's name.
const NAME: &str = "__NAME__";

fn template(kind: Starter) -> &'static str {
    match kind {
        Starter::Form => include_str!("starters/form.yaml"),
        Starter::BasicAuth => include_str!("starters/basic_auth.yaml"),
        Starter::Oauth2 => include_str!("starters/oauth2.yaml"),
        Starter::Oauth2Pkce => include_str!("starters/oauth2_pkce.yaml"),
        Starter::Oauth2ClientCredentials => include_str!("starters/oauth2_client_credentials.yaml"),
        Starter::Oauth2Device => include_str!("starters/oauth2_device.yaml"),
        Starter::JwtBearer => include_str!("starters/jwt_bearer.yaml"),
        Starter::Callback => include_str!("starters/callback.yaml"),
        Starter::SsoToken => include_str!("starters/sso_token.yaml"),
        Starter::Totp => include_str!("starters/totp.yaml"),
        Starter::Js => include_str!("starters/js.yaml"),
        Starter::Oauth1 => include_str!("starters/oauth1.yaml"),
        Starter::Ntlm => include_str!("starters/ntlm.yaml"),
    }
}

/// The starter file for a connector called `name` (a valid connector name).
pub fn render(kind: Starter, name: &str) -> String {
    template(kind).replace(NAME, name)
}

/// The closest valid connector name to `name` (`My API.yaml` → `my-api`), if any.
pub fn suggest_name(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".yaml").or_else(|| name.strip_suffix(".yml")).unwrap_or(name);
    let mut out = String::new();
    for c in stem.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum as _;

    use super::*;

    #[test]
    fn every_starter_names_its_connector_and_points_at_the_schema() {
        for kind in Starter::value_variants() {
            let text = render(*kind, "acme");
            assert!(text.starts_with("# yaml-language-server: $schema=./connector.schema.json\n"), "{kind:?}");
            assert!(text.contains("\nname: acme\n"), "{kind:?}");
            assert!(!text.contains(NAME), "{kind:?}");
        }
    }

    #[test]
    fn names_are_fixed_into_valid_ones() {
        assert_eq!(suggest_name("My API.yaml").as_deref(), Some("my-api"));
        assert_eq!(suggest_name("acme.yml").as_deref(), Some("acme"));
        assert_eq!(suggest_name("../x").as_deref(), Some("x"));
        assert_eq!(suggest_name("!!!"), None);
    }
}
