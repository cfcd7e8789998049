//! Hostile and broken input: every case ends in a clear error naming the file, never a panic.

mod common;

use common::{PIWIK_HEAD, Workspace, load, problems, render};

/// Loads one path and returns the rendered diagnostics, which must name `name`.
fn refused(ws: &Workspace, path: std::path::PathBuf, name: &str) -> Vec<(u32, String)> {
    let loaded = load(&[path]);
    let text = render(&loaded, ws.dir.path());
    assert!(loaded.result.is_err(), "{name} was accepted");
    assert!(
        text.contains(name),
        "the error does not name {name}:\n{text}"
    );
    problems(&loaded)
}

#[test]
fn empty_files() {
    let ws = Workspace::new();
    for (name, text) in [
        ("empty.yaml", ""),
        ("comments.yaml", "# nothing here\n\n"),
        ("blank.yaml", "   \n"),
    ] {
        let path = ws.write(name, text);
        assert_eq!(
            refused(&ws, path, name),
            [(0, "the file is empty".to_string())]
        );
    }
}

#[test]
fn non_utf8_bytes() {
    let ws = Workspace::new();
    let mut bytes = PIWIK_HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"users:\n  - email: caf\xe9@acme.org\n");
    let path = ws.write("latin1.yaml", bytes);
    assert_eq!(
        refused(&ws, path, "latin1.yaml:9:15"),
        [(9, "the file is not valid UTF-8".to_string())]
    );
}

#[test]
fn binary_junk() {
    let ws = Workspace::new();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = ws.write("junk.yaml", junk);
    let problems = refused(&ws, path, "junk.yaml");
    assert_eq!(problems.len(), 1);
    let path = ws.write(
        "printable.yaml",
        "\x7f\x1b[31m}{][:::\t- - ? ! & *\n%YAML 9\n",
    );
    assert_eq!(refused(&ws, path, "printable.yaml").len(), 1);
}

#[test]
fn a_fifty_megabyte_file() {
    let ws = Workspace::new();
    let mut text = String::from(PIWIK_HEAD);
    text.push_str("users:\n");
    let line = "  - email: someone.with.a.long.address@a-company-with-a-long-name.example.org\n";
    while text.len() < 50 << 20 {
        text.push_str(line);
    }
    let path = ws.write("huge.yaml", text);
    assert_eq!(
        refused(&ws, path, "huge.yaml"),
        [(0, "the file is larger than 32 MiB".to_string())]
    );
}

#[test]
fn twenty_thousand_levels_of_nesting() {
    let ws = Workspace::new();
    let flow = format!(
        "version: 1\nusers: {}{}\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let path = ws.write("flow.yaml", flow);
    let problems = refused(&ws, path, "flow.yaml:2:");
    assert!(
        problems[0].1.contains("nested more than 32 levels"),
        "{problems:?}"
    );

    // Block sequences nested on one line: `- - - ... x`.
    let block = format!("version: 1\nusers:\n  {}x\n", "- ".repeat(20_000));
    let path = ws.write("block.yaml", block);
    let problems = refused(&ws, path, "block.yaml:");
    assert!(
        problems[0].1.contains("nested more than 32 levels"),
        "{problems:?}"
    );
}

#[test]
fn alias_bombs() {
    let ws = Workspace::new();
    let mut bomb =
        String::from("version: 1\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let path = ws.write("bomb.yaml", bomb);
    let problems = refused(&ws, path, "bomb.yaml");
    assert!(problems[0].1.contains("aliases"), "{problems:?}");
}

#[test]
fn a_missing_path() {
    let ws = Workspace::new();
    let path = ws.path("nowhere/team.yaml");
    assert_eq!(
        refused(&ws, path, "nowhere/team.yaml"),
        [(
            0,
            format!(
                "cannot read `{}`: no such file or directory",
                ws.path("nowhere/team.yaml").display()
            )
        )]
    );
}

#[test]
fn a_directory_with_no_yaml() {
    let ws = Workspace::new();
    ws.write("team/README.md", "# not yaml\n");
    ws.write("team/.hidden/users.yaml", "version: 1\n");
    let problems = refused(&ws, ws.path("team"), "team");
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].1.contains("holds no `.yaml` or `.yml` files"),
        "{problems:?}"
    );
}

#[test]
fn directories_are_read_recursively_in_sorted_order() {
    let ws = Workspace::new();
    ws.write("team/00-target.yaml", PIWIK_HEAD);
    ws.write(
        "team/people/b.yml",
        "version: 1\nusers:\n  - email: bob@acme.org\n",
    );
    ws.write(
        "team/people/a.yaml",
        "version: 1\nusers:\n  - email: ada@acme.org\n",
    );
    ws.write("team/notes.txt", "ignored");
    let loaded = load(&[ws.path("team")]);
    let names: Vec<String> = (0..loaded.sources.len())
        .map(|i| {
            let path = loaded.sources.path(rollcall::diagnostic::SourceId(i));
            path.strip_prefix(ws.dir.path())
                .unwrap()
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "team/00-target.yaml",
            "team/people/a.yaml",
            "team/people/b.yml"
        ]
    );
    let state = loaded.result.expect("valid");
    assert_eq!((state.files, state.users.len()), (3, 2));
}

#[test]
fn a_document_that_is_not_a_mapping() {
    let ws = Workspace::new();
    let path = ws.write("list.yaml", "- a\n- b\n");
    assert_eq!(
        refused(&ws, path, "list.yaml"),
        [(1, "expected a mapping (the file), found a list".to_string())]
    );
    let path = ws.write("two.yaml", "version: 1\n---\nversion: 1\n");
    assert_eq!(refused(&ws, path, "two.yaml").len(), 1);
}

/// Mangled copies of a valid file: whatever the damage, loading reports and never panics.
#[test]
fn mangled_files_never_panic() {
    let ws = Workspace::new();
    let original =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bedita.yaml")).unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: [&[u8]; 10] = [
        b":", b"- ", b"\n", b"  ", b"\"", b"&a ", b"*a", b"{", b"[", b"~",
    ];
    for round in 0..300 {
        let mut bytes = original.clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % bytes.len();
            match next() % 3 {
                0 => {
                    let end = (at + 1 + (next() as usize) % 20).min(bytes.len());
                    bytes.drain(at..end);
                }
                1 => {
                    let piece = pieces[(next() as usize) % pieces.len()];
                    bytes.splice(at..at, piece.iter().copied());
                }
                _ => bytes[at] = (next() % 256) as u8,
            }
            if bytes.is_empty() {
                bytes.push(b'x');
            }
        }
        let path = ws.write(&format!("m{round}.yaml"), &bytes);
        let loaded = load(&[path]);
        // Rendering walks the snippets too.
        let _ = render(&loaded, ws.dir.path());
    }
}

#[test]
fn no_message_shows_a_secret_however_the_file_is_broken() {
    let ws = Workspace::new();
    let head = "version: 1\ntarget:\n  provider: piwik-pro\n  url: https://acme.piwik.pro\n  credentials:\n    client_id: ${PIWIK_CLIENT_ID}\n";
    let users = "users:\n  - email: ada@acme.org\n";
    let cases = [
        (
            "misspelt key",
            format!("{head}    client_secert: hunter2\n{users}"),
        ),
        (
            "duplicated key",
            format!(
                "{head}    client_secret: ${{PIWIK_CLIENT_SECRET}}\n    client_secret: hunter2\n{users}"
            ),
        ),
        (
            "unclosed quote",
            format!("{head}    client_secret: \"hunter2\n{users}"),
        ),
        (
            "bad escape",
            format!("{head}    client_secret: \"hun\\qter2\"\n{users}"),
        ),
        (
            "bad indent",
            format!("{head}     client_secret: hunter2\n{users}"),
        ),
        (
            "flow list",
            format!("{head}    client_secret: [hunter2, x]\n{users}"),
        ),
        (
            "anchor reused",
            format!("{head}    client_secret: &s hunter2\nusers:\n  - email: *s\n"),
        ),
        ("secret as a key", format!("{head}    hunter2: x\n{users}")),
        (
            "flow mapping",
            format!(
                "version: 1\ntarget: {{provider: piwik-pro, url: https://acme.piwik.pro, credentials: {{client_id: x, client_secret: hunter2}}}}\n{users}"
            ),
        ),
        (
            "block scalar",
            format!("{head}    client_secret: |\n      hunter2\n{users}"),
        ),
        (
            "a password",
            format!(
                "{head}    client_secret: ${{PIWIK_CLIENT_SECRET}}\nusers:\n  - {{email: ada@acme.org, password: hunter2, roles: [x}}\n"
            ),
        ),
        (
            "a credential's value written in another field",
            format!(
                "{head}    client_secret: ${{PIWIK_CLIENT_SECRET}}\nusers:\n  - email: piwik-top-secret-value\n"
            ),
        ),
        (
            "a credential's variable in another field",
            format!(
                "{head}    client_secret: ${{PIWIK_CLIENT_SECRET}}\nusers:\n  - email: ada@acme.org\n    language: ${{PIWIK_CLIENT_SECRET}}\n"
            ),
        ),
    ];
    for (case, text) in cases {
        let path = ws.write("team.yaml", &text);
        let loaded = load(&[path]);
        let shown = render(&loaded, ws.dir.path());
        assert!(loaded.result.is_err(), "{case}: accepted");
        assert!(!shown.is_empty(), "{case}: no message");
        for secret in ["hunter2", "hun\\qter2", "piwik-top-secret-value"] {
            assert!(
                !shown.contains(secret),
                "{case}: the secret is shown:\n{shown}"
            );
        }
    }

    // A credential's variable elsewhere is named, not its value.
    let text = format!(
        "{head}    client_secret: ${{PIWIK_CLIENT_SECRET}}\nusers:\n  - email: ada@acme.org\n    language: ${{PIWIK_CLIENT_SECRET}}\n"
    );
    let path = ws.write("team.yaml", &text);
    let loaded = load(&[path]);
    assert!(
        problems(&loaded).contains(&(
            10,
            "`${PIWIK_CLIENT_SECRET}` holds a credential or password, and is used here too"
                .to_string()
        )),
        "{}",
        render(&loaded, ws.dir.path())
    );
}

#[test]
fn tags_and_second_documents_are_refused_by_name() {
    let ws = Workspace::new();
    let head = "version: 1\ntarget:\n  provider: piwik-pro\n  url: sandbox\nusers:\n  - email: ada@acme.org\n";
    for (text, line, message) in [
        (
            format!("{head}    state: !!binary YWJzZW50\n"),
            7,
            "the tag `!!binary` is not allowed",
        ),
        (
            format!("{head}    roles: !!set {{owner}}\n"),
            7,
            "the tag `!!set` is not allowed",
        ),
        (
            format!("{head}    language: !local en\n"),
            7,
            "the tag `!local` is not allowed",
        ),
        (
            format!("{head}---\nversion: 1\n"),
            7,
            "the file holds more than one YAML document",
        ),
        (
            format!("{head}    email: bob@acme.org\n"),
            7,
            "duplicate mapping key: email",
        ),
    ] {
        let path = ws.write("team.yaml", &text);
        let loaded = load(&[path]);
        let shown = render(&loaded, ws.dir.path());
        assert_eq!(problems(&loaded), [(line, message.to_string())], "{shown}");
        assert!(!shown.contains("DuplicateKeyPolicy"), "{shown}");
    }
    // Core-schema tags only say what the plain reading says, and are read.
    let path = ws.write("team.yaml", format!("{head}    language: !!str en-US\n"));
    assert!(load(&[path]).result.is_ok());
}

#[test]
fn two_thousand_mutated_files_end_in_a_result_never_a_panic() {
    let ws = Workspace::new();
    let examples = ["quickstart", "piwik-pro", "publica-la", "bedita"].map(|name| {
        std::fs::read(format!(
            "{}/examples/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("an example")
    });
    // Bytes that matter to YAML, to secrets and to terminals.
    let alphabet = b":-[]{}\"'!&*#|>%@`\\\n\t\r $\x1b\x00\xc3";
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..2000 {
        let mut bytes = examples[round % examples.len()].clone();
        for _ in 0..rng.usize(1..8) {
            let at = rng.usize(..bytes.len());
            match rng.u8(..4) {
                0 => bytes[at] = alphabet[rng.usize(..alphabet.len())],
                1 => bytes.insert(at, alphabet[rng.usize(..alphabet.len())]),
                2 => {
                    // Whole tokens the secret scan looks for, and letters that change length
                    // when lower-cased.
                    let tokens = [
                        "Ⱥ",
                        "İ",
                        "\u{212a}",
                        "password:",
                        "credentials:",
                        " {x: ",
                        "}",
                    ];
                    let token = tokens[rng.usize(..tokens.len())].as_bytes();
                    bytes.splice(at..at, token.iter().copied());
                }
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let path = ws.write("mutated.yaml", &bytes);
        let loaded = load(&[path]);
        let shown = render(&loaded, ws.dir.path());
        assert!(
            !shown.contains('\x1b') && !shown.contains('\0'),
            "round {round}: a control character is shown raw:\n{shown}"
        );
    }
}
