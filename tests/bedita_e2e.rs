//! End to end over real HTTP: the BEdita 5 client against the strict sandbox.

mod common;

use std::time::Duration;

use rollcall::apply;
use rollcall::plan::{Op, Plan, PlanOptions};
use rollcall::providers::bedita::sandbox::{
    Data, Options, Role, SEED_API_KEY, SEED_CLIENT_SECRET, SEED_PASSWORD, SEED_USERNAME, Sandbox,
    User,
};
use rollcall::providers::sandbox::Faults;
use rollcall::session::Session;

/// The editorial team as the files want it.
const TEAM: &str = "
policy:
  protect: [bedita]
roles:
  - name: admin
  - name: editor
  - name: reviewer
    description: Reads drafts and comments on them.
defaults:
  language: it
  roles: [editor]
users:
  - username: giulia.rossi
    email: giulia.rossi@magazine.example.com
    name: Giulia
    roles: [admin, editor]
  - username: luca.ferrari
    email: luca.ferrari@magazine.example.com
  - username: anna.marino
    email: anna.marino@magazine.example.com
    roles: [reviewer]
  - username: sara.conti
    email: sara.conti@magazine.example.com
    surname: Conti
    password: ${EDITOR_PASSWORD}
  - username: matteo.lombardi
    state: deactivated
  - username: roberto.esposito
    email: roberto.esposito@magazine.example.com
  - username: paolo.romano
    state: absent
";

fn user(id: u64, username: &str, lang: &str, roles: &[u64]) -> User {
    User {
        id,
        username: username.into(),
        email: Some(format!("{username}@magazine.example.com")),
        name: None,
        surname: None,
        lang: Some(lang.into()),
        status: "on".into(),
        password_hash: None,
        roles: roles.to_vec(),
        deleted: false,
        blocked: false,
        created: 1_700_000_000,
        modified: 1_700_000_000,
    }
}

/// The seed's administrator and roles, and a team of our own.
fn data() -> Data {
    let mut data = Data::seed();
    data.users.retain(|u| u.username == SEED_USERNAME);
    data.roles.retain(|r| r.id <= 3);
    data.roles.push(Role {
        id: 4,
        name: "legacy".into(),
        description: None,
        unchangeable: false,
        priority: 100,
        created: 1_700_000_000,
    });
    let mut giulia = user(10, "giulia.rossi", "it", &[2]);
    giulia.name = Some("Giulia".into());
    let mut roberto = user(15, "roberto.esposito", "it", &[2]);
    roberto.deleted = true;
    roberto.status = "off".into();
    data.users.extend([
        giulia,
        user(11, "luca.ferrari", "en", &[2]),
        user(12, "anna.marino", "it", &[2, 3]),
        user(13, "matteo.lombardi", "it", &[2]),
        user(14, "paolo.romano", "it", &[2, 4]),
        roberto,
    ]);
    data.next_id = 100;
    data
}

type Harness = common::Served<Sandbox>;

async fn harness(data: Data, faults: Faults) -> Harness {
    harness_with(data, Options::default(), faults).await
}

async fn harness_with(data: Data, options: Options, faults: Faults) -> Harness {
    common::serve(Sandbox::new(data, options), faults).await
}

impl common::Simulated for Sandbox {
    fn head(url: &str) -> String {
        format!(
            "version: 1\ntarget:\n  provider: bedita\n  url: {url}\n  credentials:\n    api_key: ${{KEY}}\n    username: ${{WHO}}\n    password: ${{PASSWORD}}\n"
        )
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some(SEED_API_KEY.to_string()),
            "WHO" => Some(SEED_USERNAME.to_string()),
            "PASSWORD" => Some(SEED_PASSWORD.to_string()),
            "EDITOR_PASSWORD" => Some("editor-pass-1".to_string()),
            _ => None,
        }
    }
}

impl Harness {
    fn user(&self, username: &str) -> User {
        let data = self.sandbox.data();
        let found: Vec<&User> = data
            .users
            .iter()
            .filter(|u| u.username == username)
            .collect();
        assert_eq!(found.len(), 1, "exactly one {username}");
        found[0].clone()
    }

    /// A user's role names, sorted.
    fn roles_of(&self, username: &str) -> Vec<String> {
        let data = self.sandbox.data();
        let mut names: Vec<String> = self
            .user(username)
            .roles
            .iter()
            .filter_map(|id| data.roles.iter().find(|r| r.id == *id))
            .map(|r| r.name.clone())
            .collect();
        names.sort();
        names
    }
}

fn ops(plan: &Plan) -> Vec<(Op, &str)> {
    plan.actions
        .iter()
        .map(|a| (a.op, a.user.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges() {
    converges(harness(data(), Faults::default()).await).await;
}

/// A user list without role data (a proxy or plugin may drop it) is not read as "no roles": the
/// roles are read per role, and the plan is the same as with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_without_role_data_plans_the_same_and_converges() {
    let options = Options {
        no_role_data: true,
        ..Options::default()
    };
    converges(harness_with(data(), options, Faults::default()).await).await;
}

async fn converges(h: Harness) {
    let (plan, failed) = h.apply(TEAM).await;
    assert_eq!(failed, 0);
    assert_eq!(
        ops(&plan),
        [
            (Op::UpdateRole, "reviewer"),
            (Op::Restore, "roberto.esposito"),
            (Op::Create, "sara.conti"),
            (Op::Update, "luca.ferrari"),
            (Op::Grant, "giulia.rossi"),
            (Op::Grant, "sara.conti"),
            (Op::Revoke, "anna.marino"),
            (Op::Deactivate, "matteo.lombardi"),
            (Op::Delete, "paolo.romano"),
        ]
    );
    // The new user exists before it is granted anything.
    assert_eq!(plan.actions[5].depends_on, [2]);
    let again = h.plan(TEAM).await;
    assert!(again.is_empty(), "{:?}", again.actions);

    let reviewer = h
        .sandbox
        .data()
        .roles
        .into_iter()
        .find(|r| r.name == "reviewer");
    assert_eq!(
        reviewer.and_then(|r| r.description).as_deref(),
        Some("Reads drafts and comments on them.")
    );
    let sara = h.user("sara.conti");
    assert_eq!(sara.status, "on", "created able to sign in, not as a draft");
    assert!(sara.password_hash.is_some());
    assert_eq!(h.roles_of("sara.conti"), ["editor"]);
    assert_eq!(h.roles_of("giulia.rossi"), ["admin", "editor"]);
    assert_eq!(h.roles_of("anna.marino"), ["reviewer"]);
    assert_eq!(h.user("luca.ferrari").lang.as_deref(), Some("it"));
    assert_eq!(h.user("matteo.lombardi").status, "off");
    let paolo = h.user("paolo.romano");
    assert!(paolo.deleted, "soft-deleted to the trash");
    let roberto = h.user("roberto.esposito");
    assert!(!roberto.deleted && roberto.status == "on");
    assert_eq!(roberto.id, 15, "restored, not re-created");
    assert_eq!(h.roles_of("roberto.esposito"), ["editor"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_role_and_three_users_holding_it_apply_in_one_run() {
    let h = harness(data(), Faults::default()).await;
    let team = TEAM.replace(
        "defaults:\n",
        "  - name: photo-desk\n    description: Images and galleries\ndefaults:\n",
    ) + "
  - username: chiara.ricci
    roles: [photo-desk]
  - username: marco.bianchi
    roles: [photo-desk, editor]
  - username: elena.greco
    roles: [photo-desk]
";
    let (plan, failed) = h.apply(&team).await;
    assert_eq!(failed, 0);
    assert_eq!(plan.actions[0].op, Op::CreateRole);
    assert_eq!(plan.actions[0].user, "photo-desk");
    for name in ["chiara.ricci", "marco.bianchi", "elena.greco"] {
        let create = plan
            .actions
            .iter()
            .find(|a| a.op == Op::Create && a.user == name)
            .unwrap();
        let grant = plan
            .actions
            .iter()
            .find(|a| a.op == Op::Grant && a.user == name)
            .unwrap();
        assert!(create.id < grant.id);
        assert_eq!(
            grant.depends_on,
            [0, create.id],
            "role, then user, then grant"
        );
        assert!(h.roles_of(name).contains(&"photo-desk".to_string()));
    }
    let role = h
        .sandbox
        .data()
        .roles
        .into_iter()
        .find(|r| r.name == "photo-desk")
        .unwrap();
    assert_eq!(role.description.as_deref(), Some("Images and galleries"));
    assert!(h.plan(&team).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_then_re_added_user_is_restored_from_the_trash() {
    let h = harness(data(), Faults::default()).await;
    let (_, failed) = h.apply(TEAM).await;
    assert_eq!(failed, 0);
    let id = h.user("paolo.romano").id;

    let back = TEAM.replace(
        "  - username: paolo.romano\n    state: absent\n",
        "  - username: paolo.romano\n    roles: [reviewer]\n",
    );
    let (plan, failed) = h.apply(&back).await;
    assert_eq!(failed, 0);
    assert_eq!(ops(&plan), [(Op::Restore, "paolo.romano")]);
    let paolo = h.user("paolo.romano");
    assert_eq!(paolo.id, id, "the same user, not a new one");
    assert!(!paolo.deleted);
    assert_eq!(paolo.status, "on");
    // The restore sets the whole role set: `legacy`, held before the removal, is gone.
    assert_eq!(h.roles_of("paolo.romano"), ["reviewer"]);
    assert!(h.plan(&back).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_apply_is_renewed_without_failing_an_action() {
    renews_a_token_mid_apply(Options::default()).await;
}

/// Converge, faults and token expiry under the sandbox's readings of the open points (`apis.md`
/// section 6), in one row to keep the suite quick: each converges, none leaves a wrong project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_variant_converges_survives_faults_and_renews_tokens() {
    let mut options = Options::default();
    for name in ["page-cap=3", "no-role-data", "blocked-ignored"] {
        assert!(options.variant(name), "{name}");
    }
    converges(harness_with(data(), options.clone(), Faults::default()).await).await;
    survives_faults(options.clone()).await;
    renews_a_token_mid_apply(options).await;
}

async fn renews_a_token_mid_apply(options: Options) {
    let h = harness_with(data(), options, Faults::default()).await;
    let sandbox = h.sandbox.clone();
    let (plan, failed) = common::apply_once(h.desired(TEAM), move || sandbox.expire_tokens()).await;
    assert!(!plan.is_empty());
    assert_eq!(failed, 0);
    assert!(h.plan(TEAM).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_still_converge_without_duplicates() {
    survives_faults(Options::default()).await;
}

async fn survives_faults(options: Options) {
    let faults = Faults {
        error_share: 0.2,
        drop_share: 0.4,
        seed: 7,
        ..Faults::default()
    };
    let h = harness_with(data(), options, faults).await;
    let team = TEAM.replace("defaults:\n", "  - name: photo-desk\ndefaults:\n")
        + "
  - username: chiara.ricci
    roles: [photo-desk]
  - username: marco.bianchi
    roles: [photo-desk]
";
    let mut runs = 0;
    loop {
        runs += 1;
        let (plan, failed) = h.apply(&team).await;
        if plan.is_empty() || runs == 6 {
            break;
        }
        let _ = failed;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(h.plan(&team).await.is_empty(), "converged in {runs} runs");
    let data = h.sandbox.data();
    let mut names: Vec<&str> = data.users.iter().map(|u| u.username.as_str()).collect();
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all, "no user twice");
    assert_eq!(
        data.roles.iter().filter(|r| r.name == "photo-desk").count(),
        1,
        "no role twice"
    );
    assert_eq!(h.roles_of("marco.bianchi"), ["photo-desk"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_no_file_declares_are_revoked_then_deleted_under_the_policy() {
    let h = harness(data(), Faults::default()).await;
    let team = TEAM
        .replace(
            "  protect: [bedita]\n",
            "  protect: [bedita]\n  unmanaged_roles: delete\n",
        )
        .replace(
            "  - username: paolo.romano\n    state: absent\n",
            "  - username: paolo.romano\n",
        );
    let (plan, failed) = h.apply(&team).await;
    assert_eq!(failed, 0);
    let revoke = plan
        .actions
        .iter()
        .find(|a| a.op == Op::Revoke && a.user == "paolo.romano")
        .unwrap();
    let delete = plan.actions.last().unwrap();
    assert_eq!(
        (delete.op, delete.user.as_str()),
        (Op::DeleteRole, "legacy")
    );
    assert_eq!(
        delete.depends_on,
        [revoke.id],
        "revoked before it is deleted"
    );
    let data = h.sandbox.data();
    assert!(data.roles.iter().all(|r| r.name != "legacy"));
    assert!(data.roles.iter().any(|r| r.name == "admin"), "admin stays");
    assert_eq!(h.roles_of("paolo.romano"), ["editor"]);
    assert!(h.plan(&team).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_admin_is_never_removed_or_stripped() {
    let h = harness(data(), Faults::default()).await;
    let team = TEAM.replace("  protect: [bedita]\n", "  protect: []\n")
        + "  - username: bedita\n    roles: [editor]\n";
    let plan = h.plan(&team).await;
    let guards: Vec<&str> = plan.blocked.iter().map(|b| b.guard.as_ref()).collect();
    assert!(guards.contains(&"built-in-admin"), "{guards:?}");
    assert!(guards.contains(&"own-user"), "{guards:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_own_error_is_shown_verbatim() {
    let h = harness(data(), Faults::default()).await;
    // The email belongs to a user in the trash, so BEdita refuses it.
    let team = "
users:
  - username: r.esposito
    email: roberto.esposito@magazine.example.com
";
    let session = Session::connect(h.desired(team), None).await.unwrap();
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    let errors: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|(_, o)| match o {
            apply::Outcome::Failed(err) => Some(err.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("HTTP 400: Invalid data: ") && errors[0].contains("[email.unique]"),
        "{}",
        errors[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_project_plans_no_changes() {
    let h = harness(data(), Faults::default()).await;
    let session = Session::connect(h.desired(""), None).await.unwrap();
    let live = session.fetch().await.unwrap();
    let text = rollcall::cli::export::render(&session.desired, &live);
    assert!(text.contains("  - name: \"legacy\"\n"), "{text}");
    assert!(
        text.contains("    roles: [\"editor\", \"legacy\"]\n"),
        "{text}"
    );
    assert!(
        !text.contains("roberto.esposito"),
        "users in the trash are left out"
    );
    let exported = text.split_once("users:\n").unwrap().1;
    let roles = text.split_once("roles:\n").unwrap().1;
    let roles = roles.split_once("users:\n").unwrap().0;
    let body = format!("roles:\n{roles}users:\n{exported}");
    let plan = h.plan(&body).await;
    assert!(plan.is_empty(), "{:?}", plan.actions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_and_new_deactivated_users_take_one_action_each() {
    let mut data = data();
    if let Some(luca) = data.users.iter_mut().find(|u| u.username == "luca.ferrari") {
        luca.blocked = true;
        luca.lang = Some("it".into());
    }
    let h = harness(data, Faults::default()).await;
    let team = TEAM.to_string() + "  - username: nadia.villa\n    state: deactivated\n";
    let (plan, failed) = h.apply(&team).await;
    assert_eq!(failed, 0);
    let of = |user: &str| -> Vec<Op> {
        plan.actions
            .iter()
            .filter(|a| a.user == user)
            .map(|a| a.op)
            .collect()
    };
    assert_eq!(
        of("luca.ferrari"),
        [Op::Reactivate],
        "a block is a deactivation"
    );
    assert_eq!(
        of("nadia.villa"),
        [Op::Create, Op::Grant],
        "created switched off"
    );
    let luca = h.user("luca.ferrari");
    assert!(!luca.blocked && luca.status == "on");
    assert_eq!(h.user("nadia.villa").status, "off");
    assert!(h.plan(&team).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_name_the_variables_and_never_the_values() {
    let h = harness(data(), Faults::default()).await;
    let text = format!(
        "version: 1\ntarget:\n  provider: bedita\n  url: {}\n  credentials:\n    api_key: ${{KEY}}\n    username: ${{WHO}}\n    password: ${{PASSWORD}}\n",
        h.url
    );
    for (key, password) in [
        (SEED_API_KEY, "wrong-password-1"),
        ("wrong-key-1", "wrong-password-1"),
    ] {
        let env = |name: &str| match name {
            "KEY" => Some(key.to_string()),
            "WHO" => Some(SEED_USERNAME.to_string()),
            "PASSWORD" => Some(password.to_string()),
            _ => None,
        };
        let desired = h.load_file("team.yaml", text.clone(), &env);
        let session = Session::connect(desired, None).await.unwrap();
        let err = format!("{:#}", session.fetch().await.unwrap_err());
        let expected = if key == SEED_API_KEY {
            "BEdita refused the credentials in `WHO` and `PASSWORD` (HTTP 401: Login request not successful)"
        } else {
            "BEdita refused the API key in `KEY` (HTTP 403: Invalid API key)"
        };
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains(password) && !err.contains(key), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_match_whatever_their_case() {
    let h = harness(data(), Faults::default()).await;
    let team = "
users:
  - username: Luca.Ferrari
    language: en
  - username: New.Person
";
    let (plan, failed) = h.apply(team).await;
    assert_eq!(failed, 0);
    assert_eq!(ops(&plan), [(Op::Create, "new.person")]);
    assert_eq!(plan.actions[0].after("username"), Some("New.Person"));
    h.user("New.Person");
    assert!(h.plan(team).await.is_empty());
    // An export keeps each username as BEdita spells it.
    let session = Session::connect(h.desired(""), None).await.unwrap();
    let live = session.fetch().await.unwrap();
    let text = rollcall::cli::export::render(&session.desired, &live);
    assert!(text.contains("  - username: \"New.Person\"\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_application_secret_can_plan_but_not_apply() {
    let h = harness(data(), Faults::default()).await;
    let text = format!(
        "version: 1\ntarget:\n  provider: bedita\n  url: {}\n  credentials:\n    api_key: ${{KEY}}\n    client_secret: ${{SECRET}}\n{TEAM}",
        h.url
    );
    let env = |name: &str| match name {
        "KEY" => Some(SEED_API_KEY.to_string()),
        "SECRET" => Some(SEED_CLIENT_SECRET.to_string()),
        "EDITOR_PASSWORD" => Some("editor-pass-1".to_string()),
        _ => None,
    };
    let session = Session::connect(h.load_file("team.yaml", text, &env), None)
        .await
        .unwrap();
    let (_, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    assert_eq!(
        plan.actions.len(),
        9,
        "the same plan as a signed-in user gets"
    );
    let reason = session.account.read_only().expect("read-only credentials");
    assert!(reason.contains("`username` and `password`"), "{reason}");
}

/// A user someone else created between plan and apply: the create meets BEdita's uniqueness
/// error, rollcall takes over the user with exactly that username (whatever its case), gives it
/// the file's fields and reports it adopted; nobody is created twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_created_by_someone_else_mid_apply_is_adopted_with_the_files_fields() {
    let h = harness(data(), Faults::default()).await;
    let team =
        "users:\n  - username: newbie\n    email: newbie@magazine.example.com\n    name: Nina\n";
    let (plan, failed) = common::apply_once(h.desired(team), || {
        let mut other = user(60, "Newbie", "it", &[]);
        other.email = None;
        h.sandbox.add_user(other);
    })
    .await;
    assert_eq!(failed, 0);
    assert_eq!(ops(&plan), [(Op::Create, "newbie")]);
    let data = h.sandbox.data();
    let found: Vec<&User> = data
        .users
        .iter()
        .filter(|u| u.username.eq_ignore_ascii_case("newbie"))
        .collect();
    assert_eq!(found.len(), 1, "created twice");
    assert_eq!(found[0].id, 60, "not the one someone else made");
    assert_eq!(found[0].name.as_deref(), Some("Nina"));
    assert_eq!(
        found[0].email.as_deref(),
        Some("newbie@magazine.example.com")
    );
    assert!(h.plan(team).await.is_empty());
}
