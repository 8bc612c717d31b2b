//! The span index and the document built in one pass.

use super::*;

#[test]
fn indexes_block_and_flow_nodes() {
    let text = "name: a\nauth_flow:\n  - id: f\n    fields:\n      - {key: email, type: emial}\n";
    let spans = parse(text).1;
    let field = Path::root().key("auth_flow").index(0).key("fields").index(0);
    assert_eq!(spans.value(&field.key("type")), Pos { line: 5, column: 28 });
    assert_eq!(spans.key(&field.key("type")), Pos { line: 5, column: 22 });
    assert_eq!(spans.key(&Path::root().key("name")), Pos { line: 1, column: 1 });
}

#[test]
fn finds_duplicate_keys() {
    let spans = parse("a: 1\nb: 2\na: 3\n").1;
    assert_eq!(spans.duplicates.len(), 1);
    assert_eq!(spans.duplicates[0].1, Pos { line: 3, column: 1 });
    // Nested, by its whole path; the value is the first one's, the key the second's.
    let spans = parse("s:\n  - {id: x}\n  - q: 1\n    r: {k: 1, k: 2}\n").1;
    let k = Path::root().key("s").index(1).key("r").key("k");
    assert_eq!(spans.duplicates, vec![(k.clone(), Pos { line: 4, column: 15 })]);
    assert_eq!(spans.value(&k), Pos { line: 4, column: 12 });
    assert_eq!(spans.key(&k), Pos { line: 4, column: 15 });
    // A path below what the document has falls back to its deepest node.
    assert_eq!(spans.value(&k.key("deeper").index(3)), Pos { line: 4, column: 12 });
    assert_eq!(spans.value(&Path::root().key("nothing")), Pos { line: 1, column: 1 });
    // The keys of a mapping under a duplicate are not duplicates themselves.
    let spans = parse("r: {url: a, m: b}\nr:\n  url: c\n  n: {url: d, url: e}\n").1;
    let paths: Vec<String> = spans.duplicates.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(paths, ["r", "r.n.url"]);
    assert_eq!(spans.duplicates[1].1, Pos { line: 4, column: 15 });
    assert_eq!(spans.value(&Path::root().key("r").key("url")), Pos { line: 1, column: 10 });
}

#[test]
fn builds_the_document_as_serde_yaml_reads_it() {
    let text =
        "\u{feff}a: 1\nb: [true, ~, -3, 0x1f, 1.5, 1e3, '7', \"x\", .inf, 1.2.3]\nc: &x {k: v}\nd: *x\ne: |\n  line\n";
    let (doc, _) = parse(text);
    assert_eq!(
        doc.unwrap(),
        serde_json::json!({"a": 1, "b": [true, null, -3, 31, 1.5, 1000.0, "7", "x", null, "1.2.3"],
            "c": {"k": "v"}, "d": {"k": "v"}, "e": "line\n"})
    );
}

#[test]
fn refuses_bombs_depth_and_second_documents() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    assert!(parse(&bomb).0.unwrap_err().message.contains("aliases"));
    // Found by fuzzing: few nodes, but each alias copies a long string.
    let long = format!(
        "a: &a [\"{}\"]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
        "x".repeat(60_000)
    );
    let err = parse(&long).0.unwrap_err().message;
    assert!(err.contains("MiB of text"), "{err}");
    let deep = "[".repeat(10_000);
    let err = parse(&deep).0.unwrap_err().message;
    assert!(err.contains("nesting deeper") || err.contains("recursion"), "{err}");
    let two = parse("a: 1\n---\nb: 2\n").0.unwrap_err();
    assert_eq!(two.pos.line, 2);
}

#[test]
fn indexes_on_first_use_or_at_once_for_a_duplicate() {
    let (_, spans) = parse("a: {b: 1}\n");
    assert!(spans.lazy.index.get().is_none(), "a valid document is indexed only when asked");
    assert_eq!(spans.value(&Path::root().key("a").key("b")), Pos { line: 1, column: 8 });
    assert!(spans.lazy.index.get().is_some());
    let (_, spans) = parse("a: 1\nb: {c: 1, c: 2}\n");
    assert!(spans.lazy.index.get().is_some());
    assert_eq!(spans.duplicates, vec![(Path::root().key("b").key("c"), Pos { line: 2, column: 11 })]);
}

#[test]
fn text_at_indexes_only_when_its_line_is_asked() {
    let (_, spans) = parse("steps:\n  - id: t\n    code: |\n      let a = 1;\n      return a;\n");
    let at = spans.text_at(&Path::root().key("steps").index(0).key("code"));
    drop(spans);
    assert!(at.lazy.index.get().is_none(), "taking the place indexes nothing");
    assert_eq!(at.line(), 4, "a `|` block's text starts on the line after the key");
    assert!(at.lazy.index.get().is_some());
    assert_eq!(format!("{at:?}"), "TextAt(steps[0].code)", "Debug names the path, not the file's text");
}
