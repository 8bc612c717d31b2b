//! The one integration-test binary: drives the real `conntest` binary.
//!
//! - `architecture`: issue 17 — the layers of `src/` hold: imports point down, no circle, no file over 500 lines
//! - `authflows`: issue 19 — step `expect`, `store: false`, `in: body`, `secret_outputs`, "rejected"
//! - `harness`: the `Conntest` builder (args, env, stdin → code, stdout, stderr)
//! - `server`: an in-process HTTP server for fault injection and request capture
//! - `validate`: diagnostics of invalid connectors (insta snapshots), example connectors
//! - `flows`: steps, request parameters, test API expectations, exit codes
//! - `faults`: refused, slow, malformed, 5xx, huge and redirecting servers
//! - `masking`: canary secrets on every output channel
//! - `django`: a real Django app with session and CSRF middleware
//! - `pty`: the Form prompt in a real pseudo-terminal
//! - `refresh`: 401 → refresh → retry, update_variables, stored credentials
//! - `oauth`: browser and token steps against a real authorization server (oidc-provider)
//! - `js`: the sandboxed JavaScript step: transforms, limits, errors at file lines
//! - `signals`: issue 22 items 12, 18 — signals end the run in every phase, the terminal restored, no core dumps
//! - `signing`: OAuth 1.0a (oauthlib) and NTLM (pyspnego) steps and `sign_in`
//! - `trust`: TLS with a private CA, exit 5, refresh_on, update_variables paths, the minimal cache
//! - `keyring`: the cache against a real Secret Service (gnome-keyring)
//! - `cache_safety`: issue 9 — kill -9 loops, concurrent split saves, `cache clear` by search, the private lock dir
//! - `citeams`: issue 20 — `--auth-first` in memory, `test lifecycle`, scoped inputs, environments,
//!   the exit-code order, the JSON document a CI job reads
//! - `call`: issue 20 — `conntest call`: auth applied, refresh-and-retry, output, exit codes
//! - `commands`: demo, schema, completions, list, --help
//! - `hostile`: issue 9 — redirects, echoed secrets, terminal escapes, template/YAML/masking bounds, run byte budget
//! - `hardening`: issue 9 — hostile environments, flag values, input files, report files, stdout
//! - `hardening2`: issue 22 — oversized NTLM fields, the callback listener's limits, URL
//!   credentials, form-encoded answers, linear masking, template caps, js deadlines, …
//! - `fuzz`: connector files through load + validate and hostile templates through the
//!   renderer, via the library API (`tests/fuzz.sh` runs them for as long as asked)
//! - `strict`: issues 18 and 23 — origin-form request lines and `Host` with its port for every
//!   step type, and peers that refuse anything else as real servers do
//! - `pinned`: issue 23 — the values themselves: js limits, the refresh margin, defaults, word
//!   lists, the masked `Cookie` form, `--shard`'s table, OAuth 1.0a over https on a port, exit 5
//! - `transport`: issue 18 — NTLM over https (and Negotiate-only), the `ntlm` step's body and
//!   `expect`, client certificates, `--proxy` through a real proxy, `--retry`, colour per stream
//! - `support`: issue 11 — `list`/`cache show` for support staff, network errors, help examples,
//!   `init`, `man`, `demo --print`, `--shard` in a matrix, JUnit against a published schema

// The `#[cfg(unix)]` modules test Unix behaviour (file modes, inodes, symlinks,
// signals, expectrl's Unix pty); the rest compile for Windows too (scripts/cross.sh).
mod architecture;
#[cfg(unix)]
mod authflows;
#[cfg(unix)]
mod cache_safety;
mod call;
mod citeams;
mod commands;
mod django;
mod faults;
mod flows;
mod fuzz;
#[cfg(unix)]
mod hardening;
#[cfg(unix)]
mod hardening2;
mod harness;
mod hostile;
mod js;
mod keyring;
mod masking;
mod oauth;
#[cfg(unix)]
mod pinned;
#[cfg(unix)]
mod pty;
mod refresh;
mod server;
mod signals;
mod signing;
#[cfg(unix)]
mod strict;
mod support;
mod transport;
mod trust;
mod validate;
