//! End to end over real HTTP: the Piwik PRO client against the strict sandbox.

// The variant matrix says which row it is on.
#![allow(clippy::disallowed_macros)]

mod common;

use std::time::Duration;

use rollcall::apply::{self, Outcome};
use rollcall::plan::{Op, PlanOptions};
use rollcall::providers::Account;
use rollcall::providers::piwik::sandbox::{Client, Data, Options, Sandbox, User};
use rollcall::providers::sandbox::Faults;
use rollcall::session::Session;

const CLIENT: (&str, &str) = ("e2e-client", "e2e-secret");

fn user(n: u128, email: &str, role: &str, language: &str) -> User {
    User {
        id: uuid::Uuid::from_u128(0xe2e0_0000_0000_4000_8000_0000_0000_0000 + n).to_string(),
        email: email.into(),
        role: role.into(),
        language: language.into(),
        added_at: format!("2024-01-{:02}T00:00:00+00:00", n % 28 + 1),
    }
}

fn seed() -> Data {
    Data {
        organization: "e2e".into(),
        clients: vec![Client {
            client_id: CLIENT.0.into(),
            client_secret: CLIENT.1.into(),
            user: "api@acme.org".into(),
        }],
        users: vec![
            user(1, "api@acme.org", "OWNER", "en-US"),
            user(2, "ada@acme.org", "USER", "en-US"),
            user(3, "bob@acme.org", "USER", "en-US"),
            user(4, "Margaret@acme.org", "USER", "en-US"),
        ],
        ..Default::default()
    }
}

/// The desired file used by most tests: two invites (one an owner), a language change, a
/// promotion and a deletion.
const TEAM: &str = "
defaults:
  language: en-US
users:
  - email: ada@acme.org
    language: de-DE
    roles: [owner]
  - email: grace@acme.org
    roles: [owner]
  - email: linus@acme.org
    language: fi-FI
  - email: margaret@acme.org
  - email: bob@acme.org
    state: absent
";

type Harness = common::Served<Sandbox>;

async fn harness(data: Data, options: Options, faults: Faults) -> Harness {
    common::serve(Sandbox::new(data, options), faults).await
}

impl common::Simulated for Sandbox {
    fn head(url: &str) -> String {
        format!(
            "version: 1\ntarget:\n  provider: piwik-pro\n  url: {url}\n  credentials:\n    client_id: ${{PIWIK_CLIENT_ID}}\n    client_secret: ${{PIWIK_CLIENT_SECRET}}\n"
        )
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "PIWIK_CLIENT_ID" => Some(CLIENT.0.to_string()),
            "PIWIK_CLIENT_SECRET" => Some(CLIENT.1.to_string()),
            _ => None,
        }
    }
}

impl Harness {
    /// The sandbox's users as (email, role, language), sorted.
    fn users(&self) -> Vec<(String, String, String)> {
        let mut users: Vec<_> = self
            .sandbox
            .data()
            .users
            .into_iter()
            .map(|u| (u.email.to_lowercase(), u.role, u.language))
            .collect();
        users.sort();
        users
    }
}

fn expected_users() -> Vec<(String, String, String)> {
    let row = |e: &str, r: &str, l: &str| (e.to_string(), r.to_string(), l.to_string());
    vec![
        row("ada@acme.org", "OWNER", "de-DE"),
        row("api@acme.org", "OWNER", "en-US"),
        row("grace@acme.org", "OWNER", "en-US"),
        row("linus@acme.org", "USER", "fi-FI"),
        row("margaret@acme.org", "USER", "en-US"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges() {
    converges(Options::default()).await;
}

/// The sandbox's readings of the open points (`apis.md` section 6), one set a row. The default
/// reading is every other test; the variants share one row to keep the suite quick.
fn variants() -> Vec<(&'static str, Options)> {
    ["page-cap=2,bare-language-refused"]
        .into_iter()
        .map(|names| {
            let mut options = Options::default();
            for name in names.split(',') {
                assert!(options.variant(name), "{name}");
            }
            (names, options)
        })
        .collect()
}

/// Converge, faults and token expiry under every variant: each converges, none leaves a wrong
/// account behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_variant_converges_survives_faults_and_renews_tokens() {
    for (name, options) in variants() {
        eprintln!("variant {name}");
        converges(options.clone()).await;
        survives_faults(options.clone()).await;
        renews_a_token_mid_apply(options).await;
    }
}

async fn converges(options: Options) {
    let h = harness(seed(), options, Faults::default()).await;
    let (plan, failed) = h.apply(TEAM).await;
    assert_eq!(failed, 0);
    assert_eq!(
        (
            plan.count(Op::Create),
            plan.count(Op::Update),
            plan.count(Op::Promote),
            plan.count(Op::Delete)
        ),
        (2, 1, 2, 1)
    );
    assert_eq!(
        plan.unmanaged.len(),
        1,
        "the API user is in no file and left alone"
    );
    assert_eq!(h.users(), expected_users());
    let again = h.plan(TEAM).await;
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(again.unchanged, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_apply_makes_no_writes() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    h.apply(TEAM).await;
    let before = h.sandbox.data();
    let journal_path = h.ws.path("journal.jsonl");
    let journal = rollcall::journal::Journal::open(&journal_path).unwrap();
    let session = Session::connect(h.desired(TEAM), Some(journal.clone()))
        .await
        .unwrap();
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    let report = apply::run(
        session.account.clone(),
        &plan,
        &live,
        4,
        Some(&journal),
        |_, _| {},
    )
    .await;
    assert_eq!(report.outcomes.len(), 0);
    assert_eq!(h.sandbox.data(), before);
    let written = std::fs::read_to_string(&journal_path).unwrap_or_default();
    assert_eq!(written, "", "the journal records no write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_give_one_clear_line() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    let text = format!("{}{TEAM}", <Sandbox as common::Simulated>::head(&h.url));
    let wrong = |name: &str| match name {
        "PIWIK_CLIENT_SECRET" => Some("not-the-secret".to_string()),
        _ => <Sandbox as common::Simulated>::env(name),
    };
    let session = Session::connect(h.load_file("team.yaml", text, &wrong), None)
        .await
        .unwrap();
    let err = session.plan(&PlanOptions::default()).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.ends_with(
            "Piwik PRO refused the credentials in `PIWIK_CLIENT_ID` and `PIWIK_CLIENT_SECRET` (HTTP 401: Client authentication failed)"
        ),
        "{text}"
    );
    assert!(
        !text.contains('\n') && !text.contains("not-the-secret"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_shown_with_code_and_detail() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    let session = h.session(TEAM).await;
    let mut plan = session.plan(&PlanOptions::default()).await.unwrap().1;
    // The service rejects a language the plan did not foresee.
    let create = plan
        .actions
        .iter_mut()
        .find(|a| a.op == Op::Create)
        .unwrap();
    create
        .changes
        .iter_mut()
        .find(|c| c.attribute == "language")
        .unwrap()
        .after = Some("pl-PL".into());
    let err = session.account.execute(create, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "HTTP 400: users.error.unsupported-language: Invalid form: Language \"pl\" is not supported (supported are ca, de, en, es, fi, fr, nl, sv) (at /language)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_action_skips_only_its_dependents() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    let session = h.session(TEAM).await;
    let (live, mut plan) = session.plan(&PlanOptions::default()).await.unwrap();
    // Make grace's invite fail: the promotion that follows it must be skipped, nothing else.
    let create = plan
        .actions
        .iter_mut()
        .find(|a| a.user == "grace@acme.org" && a.op == Op::Create)
        .unwrap();
    create.changes[0].after = Some("not-an-email".into());
    let grace_create = create.id;
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    assert_eq!(
        (report.done(), report.failed(), report.skipped()),
        (plan.actions.len() - 2, 1, 1)
    );
    let skipped: Vec<_> = report
        .outcomes
        .iter()
        .filter_map(|(id, o)| matches!(o, Outcome::Skipped(b) if *b == grace_create).then_some(*id))
        .collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(plan.actions[skipped[0]].user, "grace@acme.org");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_still_converge_without_duplicates() {
    survives_faults(Options::default()).await;
}

async fn survives_faults(options: Options) {
    let faults = Faults {
        rate_limit: Some((6, Duration::from_secs(1))),
        error_share: 0.25,
        drop_share: 0.5,
        latency: Duration::from_millis(20),
        seed: 7,
        ..Faults::default()
    };
    let options = Options {
        token_lifetime: Duration::from_secs(1),
        ..options
    };
    let h = harness(seed(), options, faults).await;
    // A fault can outlast the retry budget of one action; running apply again finishes the job,
    // and no run may ever leave a duplicate behind.
    let mut runs = 0;
    loop {
        runs += 1;
        let (_, failed) = h.apply(TEAM).await;
        let emails: Vec<String> = h.users().into_iter().map(|u| u.0).collect();
        let mut unique = emails.clone();
        unique.dedup();
        assert_eq!(emails, unique, "a duplicate user after run {runs}");
        if failed == 0 {
            break;
        }
        assert!(runs < 3, "still failing after {runs} runs");
    }
    assert_eq!(h.users(), expected_users(), "nothing missing");
    assert!(h.plan(TEAM).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_mid_apply_is_renewed() {
    renews_a_token_mid_apply(Options::default()).await;
}

async fn renews_a_token_mid_apply(options: Options) {
    let options = Options {
        token_lifetime: Duration::from_secs(1),
        ..options
    };
    let faults = Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    };
    let h = harness(seed(), options, faults).await;
    let session = h.session(TEAM).await;
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let report = apply::run(session.account.clone(), &plan, &live, 1, None, |_, _| {}).await;
    assert_eq!(report.failed(), 0);
    assert_eq!(h.users(), expected_users());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_own_user_and_the_last_owner_are_guarded() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    let plan = h
        .plan("policy:\n  unmanaged: delete\nusers:\n  - email: ada@acme.org\n")
        .await;
    let guards: Vec<_> = plan.blocked.iter().map(|b| b.guard.as_ref()).collect();
    assert_eq!(
        guards,
        ["own-user", "last-owner"],
        "the API user is the only owner too"
    );

    let mut data = seed();
    data.users[0].role = "USER".into();
    data.users[1].role = "OWNER".into();
    let h = harness(data, Options::default(), Faults::default()).await;
    let plan = h
        .plan("users:\n  - email: ada@acme.org\n    state: absent\n")
        .await;
    let guards: Vec<_> = plan.blocked.iter().map(|b| b.guard.as_ref()).collect();
    assert_eq!(guards, ["last-owner"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_thousands_of_users() {
    let mut data = seed();
    for n in 0..2_345u128 {
        data.users.push(user(
            100 + n,
            &format!("user{n:05}@acme.org"),
            "USER",
            "en-US",
        ));
    }
    let h = harness(data, Options::default(), Faults::default()).await;
    let session = h.session("users: []\n").await;
    let live = session.account.fetch().await.unwrap();
    assert_eq!(live.users.len(), 2_349);
    assert_eq!(live.own_key.as_deref(), Some("api@acme.org"));
    assert_eq!(
        live.users
            .iter()
            .filter(|u| u.key == "margaret@acme.org")
            .count(),
        1
    );
}

/// A user invited by someone else between plan and apply: the invite meets "already exists",
/// rollcall takes over the user with exactly that email, sets the file's language on it, and says
/// it adopted rather than invited; nobody is invited twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_invited_by_someone_else_mid_apply_is_adopted_with_the_files_attributes() {
    let h = harness(seed(), Options::default(), Faults::default()).await;
    let team = "users:\n  - email: api@acme.org\n    roles: [owner]\n  - email: grace@acme.org\n    language: de-DE\n";
    let desired = h.desired(team);
    let session = Session::connect(desired, None).await.unwrap();
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    assert_eq!(plan.actions.len(), 1, "{:?}", plan.actions);
    h.sandbox
        .add_user(user(9, "Grace@acme.org", "USER", "en-US"));
    let report =
        rollcall::apply::run(session.account.clone(), &plan, &live, 1, None, |_, _| {}).await;
    assert!(
        matches!(
            report.outcomes[0].1,
            rollcall::apply::Outcome::Done { adopted: true }
        ),
        "{:?}",
        report.outcomes
    );
    let graces: Vec<_> = h
        .sandbox
        .data()
        .users
        .into_iter()
        .filter(|u| u.email.eq_ignore_ascii_case("grace@acme.org"))
        .collect();
    assert_eq!(graces.len(), 1, "invited twice");
    assert_eq!(
        graces[0].language, "de-DE",
        "the file's language was not set"
    );
    assert!(h.plan(team).await.is_empty());
}

/// The sandbox's own seed (apps, a meta site, groups, grants), signed into by the e2e client.
fn access_seed() -> Data {
    Data {
        clients: seed().clients,
        ..Data::seed()
    }
}

fn seed_id(n: u128) -> String {
    uuid::Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 + n).to_string()
}

/// Access as code: a direct grant moves to a new group, a group is renamed, another gains a
/// member and a higher grant, an invited user gets a grant, and an app shared by two names is
/// pinned by UUID.
const ACCESS: &str = "
defaults:
  language: en-US
users:
  - email: ada@acme.org
    meta_sites:
      All Acme sites: view
  - email: bob@acme.org
  - email: carol@acme.org
    apps:
      5a4db0c5-0000-4000-8000-000000000102: no-access
  - email: margaret@acme.org
  - email: grace@acme.org
    apps:
      5a4db0c5-0000-4000-8000-000000000103: edit
groups:
  - name: Marketing
    members: [ada@acme.org, bob@acme.org, grace@acme.org]
    apps:
      Acme shop: manage
  - name: Insights
    former_names: [Analysts]
  - name: Blog readers
    members: [carol@acme.org]
    apps:
      5a4db0c5-0000-4000-8000-000000000102: view
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_plan_apply_plan_is_no_changes() {
    let h = harness(access_seed(), Options::default(), Faults::default()).await;
    let plan = h.plan(ACCESS).await;
    let target = rollcall::render::TargetInfo {
        provider: rollcall::model::vocab::Provider::PiwikPro,
        url: "sandbox".into(),
    };
    let text = rollcall::render::human::render(&plan, &target, false);
    let shown: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("1 live user"))
        .collect();
    let blog = "app \"Acme blog\" (5a4db0c5-0000-4000-8000-000000000102)";
    let blog3 = "app \"Acme blog\" (5a4db0c5-0000-4000-8000-000000000103)";
    let shop = "app \"Acme shop\" (5a4db0c5-0000-4000-8000-000000000101)";
    let sites = "meta site \"All Acme sites\" (5a4db0c5-0000-4000-8000-000000000201)";
    assert_eq!(
        shown.join("\n"),
        format!(
            r#"rollcall will perform the following actions on piwik-pro sandbox:

  # user "grace@acme.org" will be invited
  + user "grace@acme.org" {{
      + email                                                  = "grace@acme.org"
      + language                                               = "en-US"
      + {blog3} = "edit"
    }}

  # user "carol@acme.org" will be updated in-place
  ~ user "carol@acme.org" {{
        id                                                     = "{carol}"
      ~ language                                               = "fr-FR" -> "en-US"
      - {blog} = "view"
        # (1 unchanged attribute hidden)
    }}

  # group "Blog readers" will be created
  + group "Blog readers" {{
      + name                                                   = "Blog readers"
      + {blog} = "view"
      + members                                                = "carol@acme.org"
    }}

  # group "Insights" will be updated in-place
  ~ group "Insights" {{
        id   = "{analysts}"
      ~ name = "Analysts" -> "Insights"
    }}

  # group "Marketing" will be updated in-place
  ~ group "Marketing" {{
        id                                                     = "{marketing}"
      ~ {shop} = "edit" -> "manage"
      + members                                                = "grace@acme.org"
    }}

  # user "ada@acme.org" will be updated in-place
  ~ user "ada@acme.org" {{
        id                                                                = "{ada}"
      + {sites} = "view"
    }}

Plan: 1 to invite, 2 to change, 0 to delete; 1 group to create, 2 to change (11 actions).
Effective access, the highest of each person's own and groups' permissions:
  ada@acme.org: {sites} "no-access" -> "view"
  bob@acme.org: {shop} "edit" -> "manage"
  grace@acme.org: {blog3} "no-access" -> "edit"
  grace@acme.org: {shop} "no-access" -> "manage""#,
            analysts = seed_id(0x302),
            marketing = seed_id(0x301),
            ada = seed_id(2),
            carol = seed_id(5),
        )
    );
    // Carol's direct grant goes only once the group that replaces it gives the same, and the
    // invited user's grant and membership wait for the invite.
    let id_of = |op: Op, subject: &str| {
        plan.actions
            .iter()
            .find(|a| a.op == op && a.user == subject)
            .unwrap_or_else(|| panic!("{op:?} {subject}"))
            .id
    };
    let waits = |a: usize, b: usize| plan.actions[a].depends_on.contains(&b);
    let lowered = id_of(Op::SetPermission, "carol@acme.org");
    assert!(waits(lowered, id_of(Op::AddMembers, "Blog readers")));
    assert!(waits(
        lowered,
        id_of(Op::SetGroupPermission, "Blog readers")
    ));
    let invite = id_of(Op::Create, "grace@acme.org");
    assert!(waits(id_of(Op::SetPermission, "grace@acme.org"), invite));
    assert!(waits(id_of(Op::AddMembers, "Marketing"), invite));

    let (_, failed) = h.apply(ACCESS).await;
    assert_eq!(failed, 0);
    let again = h.plan(ACCESS).await;
    assert!(again.is_empty(), "{:?}", again.actions);
    assert!(again.access_effects.is_empty());
    let data = h.sandbox.data();
    // The rename kept the group, and with it the grant on the meta site.
    let insights = data.groups.iter().find(|g| g.name == "Insights").unwrap();
    assert_eq!(insights.id, seed_id(0x302));
    assert!(
        data.grants
            .iter()
            .any(|g| g.to == insights.id && g.on == seed_id(0x201))
    );
    let mut names: Vec<&str> = data.groups.iter().map(|g| g.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Blog readers", "Insights", "Marketing"]);
}

/// Under every reading of the access API's open points (`apis.md` section 7), with answers lost
/// and servers failing, repeated applies converge on the files, with no group made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_converges_under_every_reading_and_faults() {
    for (seed, variants) in [
        (1, ""),
        (2, "no-access-listed,group-permissions-null,members-strict"),
        (
            3,
            "group-permissions-empty-list,duplicate-group-conflict,owner-set-ignored,group-json-api-accepted",
        ),
    ] {
        let mut options = Options::default();
        for name in variants.split(',').filter(|n| !n.is_empty()) {
            assert!(options.variant(name), "{name}");
        }
        let faults = Faults {
            drop_share: 0.3,
            error_share: 0.2,
            seed,
            ..Default::default()
        };
        let h = harness(access_seed(), options, faults).await;
        let mut runs = 0;
        loop {
            runs += 1;
            let plan = match h.try_plan(ACCESS).await {
                Ok(plan) => plan,
                // A read that met a fault is retried by the next run.
                Err(_) if runs < 8 => continue,
                Err(err) => panic!("row {variants:?}: {err:#}"),
            };
            if plan.is_empty() {
                break;
            }
            assert!(runs < 8, "row {variants:?}: {:?}", plan.actions);
            let _ = h.apply(ACCESS).await;
        }
        let data = h.sandbox.data();
        let mut names: Vec<String> = data.groups.iter().map(|g| g.name.clone()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["Blog readers", "Insights", "Marketing"],
            "row {variants:?}"
        );
        let readers = data
            .groups
            .iter()
            .find(|g| g.name == "Blog readers")
            .unwrap();
        assert_eq!(readers.members, [seed_id(5)], "row {variants:?}");
        assert!(
            !data
                .grants
                .iter()
                .any(|g| g.to == seed_id(5) && g.on == seed_id(0x102)),
            "row {variants:?}: carol's direct grant stays"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_name_two_apps_share_stops_the_plan_naming_both() {
    let h = harness(access_seed(), Options::default(), Faults::default()).await;
    let plan = h
        .plan("users:\n  - email: ada@acme.org\n    apps:\n      Acme blog: view\n")
        .await;
    let blocked: Vec<String> = plan
        .blocked
        .iter()
        .map(|b| format!("{}: {}", b.guard, b.message))
        .map(|m| m.replace(&format!("{}/", h.ws.dir.path().display()), ""))
        .collect();
    assert_eq!(
        blocked,
        [format!(
            "access: 2 apps are named `Acme blog`: `{}`, `{}`; name one by its UUID (at team.yaml:11)",
            seed_id(0x102),
            seed_id(0x103)
        )]
    );
    // One app, named once by its name and once by its UUID, with two permissions.
    let plan = h
        .plan(&format!(
            "users:\n  - email: ada@acme.org\n    apps:\n      Acme shop: view\n      {}: edit\n",
            seed_id(0x101)
        ))
        .await;
    let blocked: Vec<&str> = plan.blocked.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(
        blocked,
        [format!(
            "ada@acme.org is given app `{}` twice, as `view` and as `edit`; name it once",
            seed_id(0x101)
        )]
    );
}

/// A protected user's access is never changed, directly or through a group: the plan stops.
/// A run narrowed to some users plans no access at all, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_users_and_narrowed_runs_leave_access_alone() {
    let h = harness(access_seed(), Options::default(), Faults::default()).await;
    let protected = format!("policy:\n  protect: [carol@acme.org]\n{ACCESS}");
    let plan = h.plan(&protected).await;
    let blocked: Vec<&str> = plan.blocked.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(
        blocked,
        [
            "the plan would change the access of carol@acme.org, whom `policy.protect` keeps as they are"
        ]
    );
    let session = h.session(ACCESS).await;
    let options = PlanOptions {
        target_users: vec!["ada@acme.org".into()],
        ..PlanOptions::default()
    };
    let (_, plan) = session.plan(&options).await.unwrap();
    assert!(plan.access_skipped);
    assert!(
        plan.actions.iter().all(|a| !a.op.is_access()),
        "{:?}",
        plan.actions
    );
}

/// Under `unmanaged_groups: delete` and `unmanaged_permissions: revoke`, the groups and direct
/// permissions the files leave out go, and the account then matches the files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_policies_delete_and_revoke_what_the_files_leave_out() {
    let h = harness(access_seed(), Options::default(), Faults::default()).await;
    let body = "
policy:
  unmanaged_groups: delete
  unmanaged_permissions: revoke
defaults:
  language: en-US
users:
  - email: ada@acme.org
    apps:
      Acme shop: view
  - email: bob@acme.org
  - email: margaret@acme.org
groups:
  - name: Marketing
    members: [ada@acme.org, bob@acme.org]
";
    let plan = h.plan(body).await;
    let shown: Vec<String> = plan
        .actions
        .iter()
        .filter(|a| a.op.is_access())
        .map(|a| format!("{} {}", a.op.name(), a.subject()))
        .collect();
    assert_eq!(
        shown,
        [
            "delete-group group Analysts",
            "set-permission ada@acme.org",
            "set-permission group Marketing",
        ]
    );
    let (_, failed) = h.apply(body).await;
    assert_eq!(failed, 0);
    assert!(h.plan(body).await.is_empty());
    let data = h.sandbox.data();
    let names: Vec<&str> = data.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["Marketing"]);
    // Carol is in no file: her permission stays.
    let mut held: Vec<String> = data
        .grants
        .iter()
        .map(|g| format!("{} {}", &g.to[g.to.len() - 3..], g.permission.as_str()))
        .collect();
    held.sort();
    assert_eq!(held, ["002 view", "005 view"]);
}

/// Under a rate limit, the access writes wait out each `Retry-After`: none fails, and the
/// account matches the files after one apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_writes_under_a_rate_limit_all_land() {
    let faults = Faults {
        rate_limit: Some((8, Duration::from_millis(500))),
        ..Default::default()
    };
    let h = harness(access_seed(), Options::default(), faults).await;
    let session = h.session(ACCESS).await;
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    assert!(plan.actions.iter().filter(|a| a.op.is_access()).count() >= 8);
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    let (_, _, refused) = session.pace.status();
    assert!(refused > 0, "the limit was never met");
    assert_eq!((report.failed(), report.skipped()), (0, 0));
    assert!(h.plan(ACCESS).await.is_empty());
}
