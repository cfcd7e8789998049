//! What `rollcall validate` reports for each kind of mistake, and what it accepts.

mod common;

use common::{BEDITA_HEAD, PIWIK_HEAD, PUBLICA_HEAD, Workspace, load, problems, render};
use rollcall::model::vocab::State;

/// Loads one file made of `head` and `body`, returning its rendered diagnostics.
fn check(head: &str, body: &str) -> (Vec<(u32, String)>, String) {
    let ws = Workspace::new();
    let path = ws.write("team.yaml", format!("{head}{body}"));
    let loaded = load(&[path]);
    (problems(&loaded), render(&loaded, ws.dir.path()))
}

fn messages(problems: &[(u32, String)]) -> Vec<&str> {
    problems.iter().map(|(_, m)| m.as_str()).collect()
}

#[test]
fn five_mistakes_give_five_diagnostics_on_the_right_lines() {
    let body = "users:
  - email: ada@acme.org
    langauge: de-DE
  - email: bob@@acme.org
  - email: carol@acme.org
    state: deactivated
  - email: dave@acme.org
    roles: [admin]
  - email: erin@acme.org
    language: pl-PL
";
    let (problems, text) = check(PIWIK_HEAD, body);
    let lines: Vec<u32> = problems.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![10, 11, 13, 15, 17], "{text}");
    assert_eq!(
        text,
        "error: unknown key `langauge` in a user
   --> team.yaml:10:5
   |
10 |     langauge: de-DE
   |     ^^^^^^^^ did you mean `language`?

error: `bob@@acme.org` is not a valid email address: it contains spaces or a second `@`
   --> team.yaml:11:12
   |
11 |   - email: bob@@acme.org
   |            ^^^^^^^^^^^^^
   = hint: write an address such as `ada@acme.org`

error: Piwik PRO cannot express `state: deactivated`
   --> team.yaml:13:12
   |
13 |     state: deactivated
   |            ^^^^^^^^^^^
   = hint: Piwik PRO can only delete users: write `state: absent` to delete, or keep the user `active`

error: `admin` is not a Piwik PRO role
   --> team.yaml:15:13
   |
15 |     roles: [admin]
   |             ^^^^^
   = hint: Piwik PRO roles are `owner` and `user`

error: Piwik PRO does not support the language `pl`
   --> team.yaml:17:15
   |
17 |     language: pl-PL
   |               ^^^^^
   = hint: supported languages are ca, de, en, es, fi, fr, nl, sv, with an optional region such as `en-US`
"
    );
}

#[test]
fn a_valid_file_loads_with_defaults_applied() {
    let body = "defaults:
  language: en-us
  roles: [user]
users:
  - email: Ada@Acme.org
    roles: [OWNER]
  - email: bob@acme.org
    language: fr-FR
  - email: eve@acme.org
    state: absent
";
    let ws = Workspace::new();
    let path = ws.write("team.yaml", format!("{PIWIK_HEAD}{body}"));
    let state = load(&[path]).result.expect("valid");
    let keys: Vec<&str> = state.users.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(keys, ["ada@acme.org", "bob@acme.org", "eve@acme.org"]);
    let ada = &state.users[0];
    assert_eq!(ada.email.as_ref().unwrap().as_str(), "Ada@Acme.org");
    assert_eq!(ada.language.as_ref().unwrap().as_str(), "en-US");
    assert_eq!(
        ada.roles.as_ref().unwrap().iter().collect::<Vec<_>>(),
        ["owner"]
    );
    let bob = &state.users[1];
    assert_eq!(bob.language.as_ref().unwrap().as_str(), "fr-FR");
    assert_eq!(
        bob.roles.as_ref().unwrap().iter().collect::<Vec<_>>(),
        ["user"]
    );
    let eve = &state.users[2];
    assert_eq!(eve.state, State::Absent);
    assert!(eve.language.is_none() && eve.roles.is_none());
    assert_eq!(eve.state_origin.unwrap().span.line, 17);
    assert_eq!(
        state
            .target
            .credentials
            .client_secret
            .as_ref()
            .unwrap()
            .value
            .expose(),
        "piwik-top-secret-value"
    );
    assert!(!format!("{state:?}").contains("piwik-top-secret-value"));
}

#[test]
fn yaml_syntax_errors_point_at_the_place() {
    let (problems, text) = check(PIWIK_HEAD, "users:\n  - email: [ada@acme.org\n");
    assert_eq!(problems.len(), 1, "{text}");
    assert!(problems[0].1.starts_with("invalid YAML"), "{text}");
    assert!(problems[0].0 >= 9, "{text}");
    assert!(text.contains("team.yaml:"), "{text}");
}

#[test]
fn wrong_types_say_what_was_expected() {
    let (problems, text) = check(
        PUBLICA_HEAD,
        "users:\n  - external_id: a1\n    email: a@b.org\n    admin: \"yes\"\n    sessions_limit: many\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "expected `true` or `false`, found a string",
            "expected a whole number, found a string"
        ],
        "{text}"
    );
    let (problems, _) = check(PIWIK_HEAD, "users: ada@acme.org\n");
    assert_eq!(messages(&problems), ["expected a list, found a string"]);
}

#[test]
fn duplicate_keys_are_refused() {
    let (problems, text) = check(
        PIWIK_HEAD,
        "users:\n  - email: a@acme.org\n    email: b@acme.org\n",
    );
    assert_eq!(problems.len(), 1, "{text}");
    assert_eq!(problems[0].0, 10, "{text}");
    assert!(problems[0].1.to_lowercase().contains("duplicate"), "{text}");
}

#[test]
fn the_same_user_in_two_files_names_both_places() {
    let ws = Workspace::new();
    let a = ws.write(
        "team/a.yaml",
        format!("{PIWIK_HEAD}users:\n  - email: ada@acme.org\n"),
    );
    ws.write(
        "team/b.yaml",
        "version: 1\nusers:\n  - email: bob@acme.org\n  - email: ' ADA@acme.org '\n",
    );
    let loaded = load(&[a.parent().unwrap().to_path_buf()]);
    let text = render(&loaded, ws.dir.path());
    assert_eq!(
        problems(&loaded),
        [(4, "email `ada@acme.org` is declared twice".to_string())]
    );
    assert!(text.contains("--> team/b.yaml:4:12"), "{text}");
    assert!(text.contains("::: team/a.yaml:9:12"), "{text}");
    assert!(text.contains("first declared here"), "{text}");
}

#[test]
fn a_user_declared_twice_is_found_even_when_the_first_is_unsound() {
    let (problems, text) = check(
        PIWIK_HEAD,
        "users:\n  - email: ada@acme.org\n    plan_valid_to: 2027-01-01\n  - email: bob@acme.org\n  - email: Ada@acme.org\n",
    );
    let messages: Vec<&str> = problems.iter().map(|p| p.1.as_str()).collect();
    assert!(
        messages.contains(&"email `ada@acme.org` is declared twice"),
        "{text}"
    );
    assert!(text.contains("first declared here"), "{text}");
}

#[test]
fn invalid_emails_are_reported() {
    let (problems, _) = check(
        PIWIK_HEAD,
        "users:\n  - email: ada.acme.org\n  - email: 'bo b@acme.org'\n",
    );
    assert_eq!(problems.len(), 2);
    assert!(
        problems
            .iter()
            .all(|(_, m)| m.contains("is not a valid email address"))
    );
}

#[test]
fn malformed_language_tags_and_piwik_languages() {
    let (problems, text) = check(
        PIWIK_HEAD,
        "users:\n  - email: a@acme.org\n    language: english\n  - email: b@acme.org\n    language: en-EN\n  - email: c@acme.org\n    language: sv\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "`english` is not a valid language tag",
            "region `EN` is not an ISO 3166-1 alpha-2 country code",
            "Piwik PRO needs a region in the language, and `sv` has none"
        ],
        "{text}"
    );
    // The service may refuse a bare primary language mid-apply, so validation does first.
    assert!(
        text.contains(
            "= hint: write `sv-SE`, or the language with another ISO 3166-1 country code; the service may refuse a bare `sv`"
        ),
        "{text}"
    );
}

#[test]
fn unknown_roles_and_plans_are_reported_with_suggestions() {
    let (problems, text) = check(
        BEDITA_HEAD,
        "roles:\n  - name: editor\nusers:\n  - username: ada\n    roles: [editr, admin]\n",
    );
    assert_eq!(
        messages(&problems),
        ["unknown role `editr`", "unknown role `admin`"],
        "{text}"
    );
    assert!(text.contains("did you mean `editor`?"), "{text}");
    assert!(
        text.contains("declare it under the top-level `roles:`"),
        "{text}"
    );

    let (problems, text) = check(
        PUBLICA_HEAD,
        "plans:\n  - name: Premium\nusers:\n  - external_id: r1\n    email: r1@example.org\n    plan: Premum\n",
    );
    assert_eq!(messages(&problems), ["unknown plan `Premum`"], "{text}");
    assert_eq!(problems[0].0, 12);
    assert!(text.contains("did you mean `Premium`?"), "{text}");
}

#[test]
fn fields_and_states_the_provider_cannot_express() {
    let (problems, text) = check(
        PIWIK_HEAD,
        "plans:\n  - name: Basic\nusers:\n  - email: a@acme.org\n    plan: Basic\n    username: ada\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "Piwik PRO has no plans",
            "Piwik PRO users have no `plan`",
            "Piwik PRO users have no `username`"
        ],
        "{text}"
    );
    let (problems, _) = check(BEDITA_HEAD, "users:\n  - username: ada\n    admin: true\n");
    assert_eq!(messages(&problems), ["BEdita users have no `admin`"]);
    let (problems, _) = check(PIWIK_HEAD, "policy:\n  unmanaged: deactivate\n");
    assert_eq!(messages(&problems), ["Piwik PRO cannot deactivate users"]);
    let (problems, _) = check(PUBLICA_HEAD, "policy:\n  unmanaged_roles: delete\n");
    assert_eq!(messages(&problems), ["Publica.la has no roles to manage"]);
    let (problems, _) = check(BEDITA_HEAD, "policy:\n  unmanaged_roles: remove\n");
    assert_eq!(problems.len(), 1, "an unknown keyword");
    let (problems, _) = check(BEDITA_HEAD, "roles:\n  - name: news,sport\n");
    assert_eq!(messages(&problems), ["a role name cannot contain `,`"]);
}

#[test]
fn null_is_rejected_everywhere() {
    let (problems, text) = check(
        BEDITA_HEAD,
        "roles:\n  - name: editor\nusers:\n  - username: ada\n    name: null\n    roles: [editor, ~]\n  -\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "`name` is `null`",
            "a list item is `null`",
            "a list item is `null`"
        ],
        "{text}"
    );
    assert!(text.contains("remove the key to leave it unmanaged, or write `[]` for none"));
}

#[test]
fn empty_list_means_none() {
    let ws = Workspace::new();
    let path = ws.write(
        "team.yaml",
        format!("{BEDITA_HEAD}roles:\n  - name: editor\nusers:\n  - username: ada\n    roles: []\n  - username: bob\n"),
    );
    let state = load(&[path]).result.expect("valid");
    assert_eq!(state.users[0].roles.as_ref().map(|r| r.len()), Some(0));
    assert_eq!(state.users[1].roles, None);
}

#[test]
fn literal_secrets_are_refused_and_never_shown() {
    let head = "version: 1
target:
  provider: piwik-pro
  url: https://acme.piwik.pro
  credentials:
    client_id: ${PIWIK_CLIENT_ID}
    client_secret: Sup3r-Secret-Value
";
    let (problems, text) = check(head, "users:\n  - email: a@acme.org\n");
    assert_eq!(
        messages(&problems),
        ["a literal secret is written in the file"]
    );
    assert_eq!(problems[0].0, 7);
    assert!(!text.contains("Sup3r-Secret-Value"), "{text}");
    assert!(text.contains("client_secret: <redacted>"), "{text}");

    let (problems, text) = check(
        PUBLICA_HEAD,
        "users:\n  - external_id: x\n    email: x@example.org\n    password: hunter2hunter2\n    clave: z\n",
    );
    assert!(messages(&problems).contains(&"a literal secret is written in the file"));
    assert!(!text.contains("hunter2hunter2"), "{text}");
}

#[test]
fn missing_environment_variables_name_file_line_and_variable() {
    let (problems, text) = check(
        PUBLICA_HEAD,
        "users:\n  - external_id: x\n    email: x@example.org\n    password: ${NEW_READER_PASSWORD}\n  - external_id: y\n    email: y@example.org\n    password: ${EMPTY}\n",
    );
    assert_eq!(
        problems,
        [
            (
                10,
                "environment variable `NEW_READER_PASSWORD` is not set".to_string()
            ),
            (13, "environment variable `EMPTY` is empty".to_string())
        ],
        "{text}"
    );
    assert!(text.contains("--> team.yaml:10:15"), "{text}");
    assert!(text.contains("export NEW_READER_PASSWORD=..."), "{text}");

    let (problems, _) = check(
        PUBLICA_HEAD,
        "users:\n  - external_id: x\n    email: x@example.org\n    password: ${SHORT_PASSWORD}\n",
    );
    assert_eq!(
        messages(&problems),
        ["the initial password in `SHORT_PASSWORD` must be 8 to 255 characters long"]
    );
}

#[test]
fn credentials_must_match_the_provider() {
    let head = "version: 1
target:
  provider: bedita
  url: https://api.example.com
  credentials:
    api_key: ${BEDITA_API_KEY}
    api_token: ${PUBLICA_API_TOKEN}
";
    let (problems, _) = check(head, "");
    assert_eq!(
        messages(&problems),
        ["`api_token` is not a BEdita credential"]
    );
    let head = "version: 1\ntarget:\n  provider: bedita\n  url: https://api.example.com\n  credentials:\n    api_key: ${BEDITA_API_KEY}\n";
    let (problems, text) = check(head, "");
    assert_eq!(
        messages(&problems),
        ["the credentials are missing `client_secret`"],
        "{text}"
    );
    let (problems, _) = check(
        "version: 1\ntarget:\n  provider: piwik-pro\n  url: http://acme.piwik.pro\n",
        "",
    );
    assert_eq!(
        messages(&problems),
        [
            "the target URL uses plain `http` to a remote host, which would send credentials unencrypted"
        ]
    );
}

#[test]
fn target_urls_are_judged_by_their_parsed_host() {
    let plain = "uses plain `http` to a remote host, which would send credentials unencrypted";
    for (url, problem) in [
        ("http://127.0.0.1.example.com", plain),
        ("'http://example.com\\@127.0.0.1'", plain),
        ("http://localhost.example.com:8080", plain),
        ("http://[::2]", plain),
        (
            "https://admin:hunter2@acme.piwik.pro",
            "holds a user name or password (`user:pass@`); credentials belong under `credentials`",
        ),
        (
            "https://acme.piwik.pro/?x=1",
            "has a query or fragment; write only the account's base address",
        ),
        ("https://", "is not a URL"),
        ("acme.piwik.pro", "is not a URL"),
        ("file:///etc/passwd", "is not a URL"),
        ("ftp://acme.piwik.pro", "is not an `https://` URL"),
    ] {
        let head = format!("version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n");
        let (problems, text) = check(&head, "");
        assert_eq!(
            messages(&problems),
            [format!("the target URL {problem}")],
            "{url}: {text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://[::1]:9",
        "https://acme.piwik.pro/base/",
    ] {
        let head = format!(
            "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{PIWIK_CLIENT_ID}}\n    client_secret: ${{PIWIK_CLIENT_SECRET}}\n"
        );
        let (problems, text) = check(&head, "");
        assert!(problems.is_empty(), "{url}: {text}");
    }
}

#[test]
fn provider_names_get_suggestions() {
    let (problems, text) = check(
        "version: 1\ntarget:\n  provider: piwik\n  url: sandbox\n",
        "",
    );
    assert_eq!(messages(&problems), ["`piwik` is not a valid provider"]);
    assert!(text.contains("did you mean `piwik-pro`?"), "{text}");
}

#[test]
fn one_target_per_set_of_files() {
    let ws = Workspace::new();
    let a = ws.write("a.yaml", format!("{PIWIK_HEAD}users: []\n"));
    let b = ws.write("b.yaml", PUBLICA_HEAD);
    let c = ws.write("c.yaml", "version: 1\nusers: []\n");
    let loaded = load(&[a, b]);
    assert_eq!(
        problems(&loaded),
        [(3, "a second `target` is declared".to_string())]
    );
    assert!(render(&loaded, ws.dir.path()).contains("::: a.yaml:3:3"));
    let loaded = load(&[c]);
    assert_eq!(
        problems(&loaded),
        [(0, "no file declares a `target`".to_string())]
    );
}

#[test]
fn publica_la_users_need_an_external_id_and_an_email() {
    let (problems, _) = check(
        PUBLICA_HEAD,
        "users:\n  - email: a@example.org\n  - external_id: b\n  - external_id: c\n    state: absent\n  - external_id: d\n    email: a@example.org\n    sessions_limit: 0\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "a Publica.la user needs `external_id`",
            "a Publica.la user needs `email`",
            "a Publica.la user to remove needs `email`",
            "email `a@example.org` belongs to two users",
            "`sessions_limit` must be from 1 to 999999"
        ]
    );
}

#[test]
fn the_examples_are_valid() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let loaded = load(std::slice::from_ref(&path));
            let text = render(&loaded, std::path::Path::new("/"));
            let state = loaded
                .result
                .unwrap_or_else(|_| panic!("{}:\n{text}", path.display()));
            assert!(state.users.len() >= 5, "{}", path.display());
        }
    }
}

#[test]
fn the_format_version_is_required() {
    let ws = Workspace::new();
    let missing = ws.write("a.yaml", "target:\n  provider: piwik-pro\n  url: sandbox\n");
    let loaded = load(&[missing]);
    let text = render(&loaded, ws.dir.path());
    assert_eq!(
        messages(&problems(&loaded)),
        ["the file does not say which format version it uses"]
    );
    assert!(text.contains("add `version: 1` at the top"), "{text}");
    let (problems, _) = check(
        "version: 2\ntarget:\n  provider: piwik-pro\n  url: sandbox\n",
        "",
    );
    assert_eq!(problems, [(1, "unsupported format version".to_string())]);
}

#[test]
fn a_file_that_fails_elsewhere_still_has_its_users_checked() {
    let (problems, _) = check(
        "version: 2\ntarget:\n  provider: piwik-pro\n  url: sandbox\n",
        "users:\n  - email: not-an-email\n  - ~\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "unsupported format version",
            "`not-an-email` is not a valid email address: it has no `@`",
            "a list item is `null`"
        ]
    );
}

#[test]
fn contradictions_within_a_user() {
    let (problems, text) = check(
        PUBLICA_HEAD,
        "plans:\n  - name: Basic\n  - name: Basic\nusers:\n  - external_id: a\n    state: absent\n    admin: true\n  - external_id: b\n    email: b@example.org\n    plan_valid_to: 2027-02-30\n  - external_id: c\n    email: c@example.org\n    plan_valid_to: 2027-02-28\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "plan `Basic` is declared twice",
            "a Publica.la user to remove needs `email`",
            "`admin` has no effect on a user with `state: absent`",
            "`2027-02-30` is not a valid date",
            "`plan_valid_to` without a `plan`"
        ],
        "{text}"
    );
}

#[test]
fn piwik_users_have_exactly_one_role() {
    let (problems, _) = check(
        PIWIK_HEAD,
        "users:\n  - email: a@acme.org\n    roles: [owner, user]\n  - email: b@acme.org\n    roles: []\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "a Piwik PRO user has exactly one role",
            "a Piwik PRO user has exactly one role"
        ]
    );
}

#[test]
fn policy_values_are_checked() {
    let (problems, text) = check(
        PIWIK_HEAD,
        "policy:\n  unmanaged: remove\n  protect: ['', '*@svc.acme.org']\n  max_removals: 150%\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "`remove` is not a valid `unmanaged` policy",
            "an empty `protect` pattern",
            "`max_removals` must be a count or a percentage"
        ],
        "{text}"
    );
    let ws = Workspace::new();
    let path = ws.write("p.yaml", format!("{PIWIK_HEAD}policy:\n  unmanaged: delete\n  protect: ['Owner@Acme.org']\n  max_removals: 10%\n"));
    let state = load(&[path]).result.expect("valid");
    assert_eq!(state.policy.protect, ["owner@acme.org"]);
    assert_eq!(
        state.policy.max_removals,
        Some(rollcall::model::vocab::MaxRemovals::Percent(10))
    );
}

#[test]
fn a_publica_leaver_needs_an_email_since_the_list_hides_external_ids() {
    let head = "version: 1\ntarget:\n  provider: publica-la\n  url: sandbox\n";
    let (problems, text) = check(
        head,
        "users:\n  - external_id: \"10019\"\n    state: absent\n",
    );
    assert_eq!(
        messages(&problems),
        ["a Publica.la user to remove needs `email`"],
        "{text}"
    );
    assert!(
        text.contains("= hint: the account's user list does not show `external_id`, so a leaver is found by email: give its email"),
        "{text}"
    );
    let (problems, text) = check(
        head,
        "users:\n  - external_id: \"10019\"\n    email: old.reader@example.org\n    state: absent\n",
    );
    assert!(problems.is_empty(), "{text}");
}

/// `former_emails` names who a Publica.la reader was; every email, current or former, names one
/// person, and Piwik PRO, whose identity is the email, cannot take it at all.
#[test]
fn former_emails_name_one_person_and_only_where_an_email_can_change() {
    let (problems, _) = check(
        PUBLICA_HEAD,
        "users:
  - external_id: a
    email: ana.new@example.org
    former_emails: [ana@example.org, ana.old@example.org]
  - external_id: b
    email: ana@example.org
  - external_id: c
    email: carl@example.org
    former_emails: [ana.old@example.org]
  - external_id: d
    email: dora@example.org
    former_emails: [not-an-email]
",
    );
    assert_eq!(
        problems,
        [
            (
                12,
                "email `ana@example.org` belongs to two users".to_string()
            ),
            (
                15,
                "email `ana.old@example.org` belongs to two users".to_string()
            ),
            (
                18,
                "`not-an-email` is not a valid email address: it has no `@`".to_string()
            ),
        ]
    );
    let (problems, text) = check(
        PIWIK_HEAD,
        "users:\n  - email: ana.new@example.org\n    former_emails: [ana@example.org]\n",
    );
    assert_eq!(
        messages(&problems),
        ["Piwik PRO cannot change a user's email"],
        "{text}"
    );
    assert!(
        text.contains("hint: remove `former_emails`; Piwik PRO identifies users by email, so a new address is a new user: list the old one with `state: absent`"),
        "{text}"
    );
}

/// The target read ahead of the users (so the account can be read while they decode) is given
/// only when it is certain: one block-style `target:` whose credentials are all set.
#[test]
fn the_target_is_read_ahead_only_when_it_is_certain() {
    use rollcall::desired::target_hint;
    let ws = Workspace::new();
    let env = |name: &str| (name != "UNSET").then(|| format!("{name}-value"));
    let team = ws.write(
        "team.yaml",
        format!("{PIWIK_HEAD}users:\n  - email: ada@acme.org\n"),
    );
    let hint = target_hint(std::slice::from_ref(&team), &env).expect("a hint");
    assert_eq!(hint.target.url.to_string(), "https://acme.piwik.pro");
    assert!(hint.users.is_empty());
    let client_id = hint.target.credentials.client_id.as_ref().unwrap();
    assert_eq!(client_id.value.expose(), "PIWIK_CLIENT_ID-value");

    let other = ws.write("other.yaml", PIWIK_HEAD);
    assert!(
        target_hint(&[team.clone(), other], &env).is_none(),
        "two targets"
    );
    let flow = ws.write(
        "flow.yaml",
        "version: 1\ntarget: {provider: piwik-pro, url: https://acme.piwik.pro}\n",
    );
    assert!(target_hint(&[flow], &env).is_none(), "not block style");
    let unset = ws.write(
        "unset/team.yaml",
        PIWIK_HEAD.replace("${PIWIK_CLIENT_ID}", "${UNSET}"),
    );
    assert!(
        target_hint(&[unset], &env).is_none(),
        "a credential not set"
    );
}

#[test]
fn piwik_permissions_and_groups_are_checked() {
    let body = "users:
  - email: ada@acme.org
    apps:
      Acme shop: manage
      5a4db0c5-0000-4000-8000-000000000103: view
    meta_sites:
      All Acme sites: edit-publish
  - email: bob@acme.org
    roles: [owner]
    apps:
      Acme shop: view
  - email: carol@acme.org
    apps:
      Acme blog: veiw
  - email: eve@acme.org
    state: absent
groups:
  - name: Marketing
    members: [ada@acme.org, dan@acme.org, eve@acme.org]
    apps:
      Acme shop: edit
  - name: marketing
  - name: Okta admins
    external_id: okta-1
    members: [ada@acme.org]
";
    let (problems, _) = check(PIWIK_HEAD, body);
    assert_eq!(
        messages(&problems),
        [
            "a meta site has no `edit-publish` permission",
            "an owner holds every permission already",
            "`veiw` is not a valid permission",
            "`dan@acme.org`, a member of the group `Marketing`, is in no file",
            "`eve@acme.org`, a member of the group `Marketing`, is `state: absent`",
            "the group name `marketing` is used twice",
            "the members of a group with an `external_id` come from the identity provider",
        ]
    );
    let (problems, _) = check(
        BEDITA_HEAD,
        "roles:\n  - name: editor\ngroups:\n  - name: Team\nusers:\n  - username: ada\n    apps:\n      Shop: view\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "BEdita has no user groups rollcall manages",
            "BEdita users have no `apps`"
        ]
    );
}

#[test]
fn permissions_and_groups_reach_the_desired_state() {
    let ws = Workspace::new();
    let path = ws.write(
        "team.yaml",
        format!(
            "{PIWIK_HEAD}users:
  - email: Ada@acme.org
    apps:
      Acme shop: manage
      5A4DB0C5-0000-4000-8000-000000000103: view
groups:
  - name: Marketing
    former_names: [Growth]
    members: [ADA@acme.org]
    meta_sites:
      All Acme sites: view
  - name: Okta admins
    external_id: okta-7
"
        ),
    );
    let state = load(&[path]).result.expect("valid");
    let ada = &state.users[0];
    let shown: Vec<String> = ada
        .details()
        .access
        .iter()
        .map(|p| format!("{:?} {} {}", p.entity, p.on, p.permission))
        .collect();
    assert_eq!(
        shown,
        [
            "App Acme shop manage",
            "App 5a4db0c5-0000-4000-8000-000000000103 view"
        ]
    );
    let groups: Vec<String> = state
        .groups
        .iter()
        .map(|g| {
            format!(
                "{} {:?} {:?} {:?} {}",
                g.name,
                g.external_id,
                g.former_names,
                g.members,
                g.access.len()
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            "Marketing None [\"Growth\"] Some([\"ada@acme.org\"]) 1",
            "Okta admins Some(\"okta-7\") [] None 0"
        ]
    );
}

#[test]
fn access_policies_apply_to_piwik_pro_only() {
    let (problems, text) = check(
        BEDITA_HEAD,
        "policy:\n  unmanaged_groups: delete\n  unmanaged_permissions: revoke\nroles:\n  - name: editor\nusers:\n  - username: ada\n",
    );
    assert_eq!(
        messages(&problems),
        [
            "BEdita has no user groups or app permissions",
            "BEdita has no user groups or app permissions"
        ],
        "{text}"
    );
    let (problems, text) = check(
        PIWIK_HEAD,
        "policy:\n  unmanaged_groups: remove\nusers:\n  - email: ada@acme.org\n",
    );
    assert_eq!(problems.len(), 1, "{text}");
    assert!(problems[0].1.contains("`remove`"), "{text}");
}
