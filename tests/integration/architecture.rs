//! Issue 17: the layers of `src/` (README, Architecture) hold — every import
//! points down or sideways within its layer, no import circle, no file over
//! 500 lines. Read from the source text, so a new `use` that breaks a layer
//! fails here with the edge named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines one source file may have.
const MAX_LINES: usize = 500;

/// 0 base, 1 format, 2 engine, 3 report, 4 commands — as drawn in the README.
fn layer(module: &str) -> u8 {
    let first = module.split("::").next().unwrap_or_default();
    let base = [
        "secret", "clock", "context", "terminal", "error", "output", "js", "outcome", "template", "keystore", "browser",
    ];
    if base.contains(&first) || ["connector::spans", "connector::diagnostic", "connector::scalar"].contains(&module) {
        return 0;
    }
    if first == "connector" || module == "steps" || module == "steps::catalogue" {
        return 1;
    }
    if first == "steps" {
        // steps::NAME (module file) and steps::NAME::config are the format; run and dispatch the engine.
        return if module.ends_with("::run") || module == "steps::dispatch" { 2 } else { 1 };
    }
    if first == "report" {
        return 3;
    }
    if ["commands", "cli", "starter", "main", "lib"].contains(&first) {
        return 4;
    }
    2
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let p = entry.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `src/steps/ntlm/run.rs` → `steps::ntlm::run`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src/").with_extension("");
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("::")
}

/// The longest known module that `path` (segments after `crate::`) starts with.
fn resolve(modules: &BTreeSet<String>, segments: &[&str]) -> Option<String> {
    (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| modules.contains(m))
}

/// Every `crate::…` and `super::…` path in the code (comments and the unit
/// tests at the end left out), with the paths inside `use crate::{a::b, c}`
/// groups spelt out.
fn imports(text: &str, module: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or(text);
    let code: String = text
        .lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = BTreeSet::new();
    let parent: Vec<&str> = module.rsplit_once("::").map(|(p, _)| p.split("::").collect()).unwrap_or_default();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before_ok = i == 0 || !rest[..i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            let after = &rest[i + prefix.len()..];
            rest = after;
            if !before_ok {
                continue;
            }
            let mut heads: Vec<String> = Vec::new();
            let path: String = after.chars().take_while(|c| ident(*c)).collect();
            let path = path.trim_end_matches(':');
            if after[path.len()..].trim_start_matches(':').starts_with('{') {
                // `crate::{a, b::c}` or `crate::x::{a, b}`: one level of braces is enough here.
                let open = after.find('{').unwrap_or(0);
                let close = after[open..].find('}').map_or(after.len(), |c| open + c);
                for item in after[open + 1..close].split(',') {
                    let item = item.trim().trim_start_matches('{');
                    let joined = if path.is_empty() { item.to_string() } else { format!("{path}::{item}") };
                    heads.push(joined);
                }
            } else {
                heads.push(path.to_string());
            }
            for head in heads {
                let mut segments: Vec<&str> = base.clone();
                segments.extend(head.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "self"));
                if let Some(target) = resolve(modules, &segments)
                    && target != module
                {
                    found.insert(target);
                }
            }
        }
    }
    found
}

fn graph() -> (BTreeMap<String, BTreeSet<String>>, BTreeMap<String, usize>) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let texts: Vec<(String, String)> =
        files.iter().map(|f| (module_of(&src, f), std::fs::read_to_string(f).expect("readable source"))).collect();
    let modules: BTreeSet<String> = texts.iter().map(|(m, _)| m.clone()).collect();
    let edges = texts.iter().map(|(m, t)| (m.clone(), imports(t, m, &modules))).collect();
    let lines = texts.iter().map(|(m, t)| (m.clone(), t.lines().count())).collect();
    (edges, lines)
}

#[test]
fn every_import_points_down_a_layer_or_within_it() {
    let (edges, _) = graph();
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if layer(to) > layer(from) {
                wrong.push(format!("{from} (layer {}) imports {to} (layer {})", layer(from), layer(to)));
            }
        }
    }
    assert!(wrong.is_empty(), "imports that point up a layer:\n{}", wrong.join("\n"));
    // The rule itself is pinned: the format layer may not reach the engine.
    assert_eq!((layer("steps::ntlm::config"), layer("steps::ntlm::run"), layer("http")), (1, 2, 2));
}

#[test]
fn no_import_circle() {
    let (edges, _) = graph();
    // Depth-first search for a back edge; the circle found is named in full.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| s == next).unwrap_or(0);
                    let mut circle = stack[start..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0
            && let Some(circle) = visit(m, &edges, &mut state, &mut Vec::new())
        {
            panic!("import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn no_source_file_over_500_lines() {
    let (_, lines) = graph();
    let long: Vec<String> =
        lines.iter().filter(|(_, n)| **n > MAX_LINES).map(|(m, n)| format!("{m}: {n} lines")).collect();
    assert!(long.is_empty(), "split these along their seams:\n{}", long.join("\n"));
}

#[test]
fn the_import_reader_sees_grouped_and_relative_paths() {
    let modules: BTreeSet<String> = ["http", "http::message", "cache", "cache::entry", "steps::ntlm::config"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = "use crate::{http::message::Request, cache};\nuse super::entry::Entry; // crate::steps\n";
    let found = imports(text, "cache::store", &modules);
    assert_eq!(found, ["cache", "cache::entry", "http::message"].iter().map(|s| s.to_string()).collect());
}

/// build.rs links the panic unwinder statically where the C compiler has
/// `libgcc_eh.a`: the binary does not load `libgcc_s.so.1`, about 0.1 ms of
/// every start (`a_panicking_run_is_a_failed_result_not_an_abort` checks that
/// panics still unwind).
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn the_binary_does_not_load_libgcc_s() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let eh = std::process::Command::new(&cc).arg("-print-file-name=libgcc_eh.a").output().expect("the C compiler");
    let eh = String::from_utf8_lossy(&eh.stdout).trim().to_string();
    if !Path::new(&eh).is_absolute() {
        eprintln!("{cc} has no libgcc_eh.a: the unwinder stays dynamic, nothing to check");
        return;
    }
    let out = std::process::Command::new("readelf")
        .arg("-d")
        .arg(crate::harness::bin())
        .output()
        .expect("readelf (binutils) to read the binary's dynamic section");
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(dynamic.contains("(NEEDED)") && dynamic.contains("[libc.so.6]"), "{dynamic}");
    assert!(!dynamic.contains("libgcc_s"), "the binary still loads libgcc_s:\n{dynamic}");
}
