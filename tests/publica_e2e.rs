//! End to end over real HTTP: the Publica.la client against the strict sandbox.

mod common;

use std::time::Duration;

use rollcall::apply;
use rollcall::plan::{Op, PlanOptions};
use rollcall::providers::publica::sandbox::{Data, SEED_TOKEN, Sandbox, User};
use rollcall::providers::sandbox::Faults;

/// A store: staff, readers on two plans, one deactivated reader, one leaver.
const STORE: &str = "
plans:
  - name: Lector Básico
  - name: Lector Premium
defaults:
  only_sees_readable: true
users:
  - external_id: staff-001
    email: admin@biblioteca.org
    admin: true
    only_sees_readable: false
  - external_id: \"10041\"
    email: ana.torres@example.org
    plan: Lector Premium
  - external_id: \"10032\"
    email: carmen.vidal@example.org
    sessions_limit: 3
  - external_id: \"20001\"
    email: new.reader@example.org
    password: ${READER_PASSWORD}
    plan: Lector Básico
    plan_valid_to: 2027-06-30
  - external_id: \"10019\"
    email: old.reader@example.org
    state: absent
";

type Harness = common::Served<Sandbox>;

async fn harness(data: Data, faults: Faults) -> Harness {
    harness_with(data, &[], faults).await
}

/// A store simulating the `variants` readings of `apis.md` section 6.
async fn harness_with(data: Data, variants: &[&str], faults: Faults) -> Harness {
    let mut sandbox = Sandbox::new(data, None);
    for name in variants {
        assert!(sandbox.variant(name), "{name}");
    }
    common::serve(sandbox, faults).await
}

impl common::Simulated for Sandbox {
    fn head(url: &str) -> String {
        format!(
            "version: 1\ntarget:\n  provider: publica-la\n  url: {url}\n  credentials:\n    api_token: ${{PUBLICA_TOKEN}}\n"
        )
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "PUBLICA_TOKEN" => Some(SEED_TOKEN.to_string()),
            "READER_PASSWORD" => Some("reader-pass-1".to_string()),
            _ => None,
        }
    }
}

impl Harness {
    fn user(&self, external_id: &str) -> User {
        let data = self.sandbox.data();
        let found: Vec<&User> = data
            .users
            .iter()
            .filter(|u| u.external_id == external_id)
            .collect();
        assert_eq!(found.len(), 1, "exactly one {external_id}");
        found[0].clone()
    }
}

/// Every reading of `apis.md` section 6 the sandbox takes, besides the documented shape.
const READINGS: &[&str] = &[
    "page-cap=2",
    "plans-paginated",
    "external-ids-shown",
    "plans-append",
    "gone-after-deactivation",
    "valid-to-alone",
    "no-retry-after",
    "deactivated-email-free",
];

/// The example store converges in one apply under the documented shape and under each reading:
/// the next plan is `No changes.`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_plan_converges_under_every_reading() {
    for reading in std::iter::once("").chain(READINGS.iter().copied()) {
        let variants: Vec<&str> = Some(reading)
            .filter(|r| !r.is_empty())
            .into_iter()
            .collect();
        // A budget the run meets, so that the readings about 429 answers are exercised.
        let faults = Faults {
            rate_limit: (reading == "no-retry-after").then_some((6, Duration::from_secs(1))),
            ..Faults::default()
        };
        let h = harness_with(Data::seed(), &variants, faults).await;
        converges_on(&h, reading == "external-ids-shown").await;
    }
}

/// `shown`: whether the store lists external ids, so users are matched by them.
async fn converges_on(h: &Harness, shown: bool) {
    let (plan, failed) = h.apply(STORE).await;
    assert_eq!(failed, 0);
    let ops: Vec<(Op, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.op, a.user.as_str()))
        .collect();
    let mut expected = vec![
        (Op::Create, "20001"),
        (Op::Reactivate, "10032"),
        (Op::Update, "10032"),
        (Op::Update, "10041"),
        (Op::EndSessions, "10019"),
        (Op::Deactivate, "10019"),
    ];
    if shown {
        // The seed's admin is `staff-000`; the file calls it `staff-001`.
        expected.insert(4, (Op::Update, "staff-001"));
    }
    assert_eq!(ops, expected);
    assert_eq!(
        plan.actions[2].depends_on,
        [1],
        "reactivated before it is updated"
    );
    let by_email: &[&str] = if shown {
        &["staff-001"]
    } else {
        &["10019", "10032", "10041", "staff-001"]
    };
    assert_eq!(plan.matched_by_email, by_email);

    let again = h.plan(STORE).await;
    assert!(again.is_empty(), "{:?}", again.actions);

    let created = h.user("20001");
    assert_eq!(
        (created.plan_id, created.plan_valid_to.as_deref()),
        (Some(1), Some("2027-06-30"))
    );
    let carmen = h.user("10032");
    assert_eq!(
        (carmen.deactivated_at, carmen.sessions_limit),
        (None, Some(3))
    );
    let leaver = h.user("10019");
    assert!(
        leaver.deactivated_at.is_some(),
        "absent on Publica.la is deactivated"
    );
    assert_eq!(leaver.sessions, 0, "and logged out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_never_loses_a_field_the_files_do_not_manage() {
    let mut data = Data::seed();
    let ana = data
        .users
        .iter_mut()
        .find(|u| u.external_id == "10041")
        .unwrap();
    ana.admin = true;
    ana.plan_admin = true;
    ana.sessions_limit = Some(7);
    let h = harness(data, Faults::default()).await;
    // Only the plan is managed.
    let (_, failed) = h
        .apply("plans:\n  - name: Lector Premium\nusers:\n  - external_id: \"10041\"\n    email: ana.torres@example.org\n    plan: Lector Premium\n")
        .await;
    assert_eq!(failed, 0);
    let ana = h.user("10041");
    assert_eq!(ana.plan_id, Some(2));
    assert!(
        ana.admin && ana.plan_admin,
        "flags the file does not manage are kept"
    );
    assert_eq!(ana.sessions_limit, Some(7));
    assert!(ana.only_sees_readable, "as seeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_plan_fails_at_plan_time_with_file_and_line() {
    let h = harness(Data::seed(), Faults::default()).await;
    let err = h
        .try_plan("plans:\n  - name: Lector Gold\nusers:\n  - external_id: \"10041\"\n    email: ana.torres@example.org\n    plan: Lector Gold\n")
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.starts_with("the store has no plan named `Lector Gold` for 10041 ("),
        "{text}"
    );
    assert!(text.contains("team.yaml:10)"), "{text}");
    assert!(
        text.ends_with("it offers `Lector Básico`, `Lector Premium`"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_still_converge_without_duplicates() {
    survives_faults(&[]).await;
}

/// Faults under short pages (the `page-cap` reading) converge the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_with_short_pages_still_converge() {
    survives_faults(&["page-cap=2"]).await;
}

/// Faults where a 429 gives no `Retry-After` (the budget is in `X-RateLimit-*` only) converge
/// the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_without_retry_after_still_converge() {
    survives_faults(&["no-retry-after"]).await;
}

async fn survives_faults(variants: &[&str]) {
    let faults = Faults {
        rate_limit: Some((8, Duration::from_secs(1))),
        error_share: 0.2,
        drop_share: 0.5,
        latency: Duration::from_millis(10),
        seed: 11,
        ..Faults::default()
    };
    let h = harness_with(Data::seed(), variants, faults).await;
    let mut runs = 0;
    loop {
        runs += 1;
        let (_, failed) = h.apply(STORE).await;
        let data = h.sandbox.data();
        let mut emails: Vec<String> = data.users.iter().map(|u| u.email.to_lowercase()).collect();
        let count = emails.len();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), count, "a duplicate user after run {runs}");
        if failed == 0 {
            break;
        }
        assert!(runs < 3, "still failing after {runs} runs");
    }
    assert!(h.plan(STORE).await.is_empty());
    assert_eq!(h.sandbox.data().users.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_logout_can_be_turned_off_per_user() {
    let h = harness(Data::seed(), Faults::default()).await;
    let (_, failed) = h
        .apply("users:\n  - external_id: \"10019\"\n    email: old.reader@example.org\n    state: absent\n    force_logout: false\n")
        .await;
    assert_eq!(failed, 0);
    let leaver = h.user("10019");
    assert!(leaver.deactivated_at.is_some());
    assert_eq!(leaver.sessions, 1, "the open session is left to expire");
}

/// A reader to create without an initial password is stopped at plan time, with where it is
/// written, instead of failing half-way through apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_without_a_password_fails_at_plan_time() {
    let h = harness(Data::seed(), Faults::default()).await;
    let err = h
        .try_plan("users:\n  - external_id: \"30001\"\n    email: no.password@example.org\n")
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.starts_with("Publica.la creates a user only with an initial password, and 30001 ("),
        "{text}"
    );
    assert!(
        text.ends_with("team.yaml:8) has none; give it `password: ${SOME_VAR}`"),
        "{text}"
    );
    assert!(
        h.sandbox
            .data()
            .users
            .iter()
            .all(|u| u.external_id != "30001")
    );
}

/// A store that shows external ids: creating `new-77` whose email belongs to a deactivated
/// reader meets "taken", and that reader is someone else, so the create fails with the store's
/// own words instead of being reported done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_taken_by_a_deactivated_reader_is_a_failure_not_a_create() {
    let h = harness_with(Data::seed(), &["external-ids-shown"], Faults::default()).await;
    let team = "users:\n  - external_id: new-77\n    email: carmen.vidal@example.org\n    password: ${READER_PASSWORD}\n";
    let (plan, failed) = h.apply(team).await;
    assert_eq!(
        plan.actions
            .iter()
            .map(|a| (a.op, a.user.as_str()))
            .collect::<Vec<_>>(),
        [(Op::Create, "new-77")]
    );
    assert_eq!(failed, 1, "the create must not be taken for done");
    assert!(
        h.sandbox
            .data()
            .users
            .iter()
            .all(|u| u.external_id != "new-77")
    );
    assert!(!h.plan(team).await.is_empty(), "still to do, and said so");
}

/// A store that keeps each user's plan history (the `plans-append` reading) converges: the
/// latest entry is the plan, a plan already held is never given again, and a new last day alone
/// goes with the current plan, so the history grows by one entry a real change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_changes_converge_when_the_store_keeps_plan_history() {
    let h = harness_with(Data::seed(), &["plans-append"], Faults::default()).await;
    converges_on(&h, false).await;
    let history = |h: &Harness| h.user("10041").previous_plans.len();
    let before = history(&h);
    assert!(
        h.plan(STORE).await.is_empty(),
        "a second plan changes nothing"
    );
    let later = STORE.replace(
        "    plan: Lector Premium\n",
        "    plan: Lector Premium\n    plan_valid_to: 2028-01-31\n",
    );
    let (_, failed) = h.apply(&later).await;
    assert_eq!(failed, 0);
    assert!(h.plan(&later).await.is_empty(), "the new last day took");
    assert_eq!(history(&h), before + 1, "one entry for one change");
    assert_eq!(h.user("10041").plan_valid_to.as_deref(), Some("2028-01-31"));
}

/// Export works where the store shows external ids, and a plan on what it wrote changes
/// nothing; where the store hides them, export says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_where_external_ids_are_shown() {
    let h = harness_with(Data::seed(), &["external-ids-shown"], Faults::default()).await;
    let session = h.session("").await;
    let live = session.fetch().await.unwrap();
    let text = rollcall::cli::export::render(&session.desired, &live);
    let body = text.split_once("  url:").unwrap().1;
    let body = body.split_once('\n').unwrap().1;
    let body = body.split_once("credentials:\n").map_or(body, |(_, rest)| {
        rest.split_once('\n').map_or(rest, |(_, rest)| rest)
    });
    let plan = h.plan(body).await;
    assert!(plan.is_empty(), "{text}\n{:?}", plan.actions);
}

/// A logout the store refuses is reported on its own, and the deactivation it comes before is
/// still done: the reader loses access either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_logout_never_stops_the_deactivation() {
    let faults = Faults {
        broken: Some("/force-logout".into()),
        ..Faults::default()
    };
    let h = harness_with(Data::seed(), &[], faults).await;
    let leaver = "users:\n  - external_id: \"10019\"\n    email: old.reader@example.org\n    state: absent\n";
    let session = h.session(leaver).await;
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    let outcomes: Vec<(Op, &str)> = report
        .outcomes
        .iter()
        .map(|(id, outcome)| {
            let status = match outcome {
                apply::Outcome::Done { .. } => "done",
                apply::Outcome::Failed(_) => "failed",
                _ => "other",
            };
            (plan.actions[*id].op, status)
        })
        .collect();
    assert_eq!(
        outcomes,
        [(Op::EndSessions, "failed"), (Op::Deactivate, "done")]
    );
    let user = h.user("10019");
    assert!(user.deactivated_at.is_some(), "deactivated all the same");
    assert_eq!(user.sessions, 1, "the session the store would not end");
}

/// A store that no longer finds a deactivated user (the `gone-after-deactivation` reading): the
/// reader is logged out first, so the deactivation is done, the sessions are ended, and nothing
/// is reported failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_logs_the_reader_out_first_where_the_store_forgets_deactivated_users() {
    let h = harness_with(
        Data::seed(),
        &["gone-after-deactivation"],
        Faults::default(),
    )
    .await;
    let leaver = "users:\n  - external_id: \"10019\"\n    email: old.reader@example.org\n    state: absent\n";
    let (plan, failed) = h.apply(leaver).await;
    assert_eq!(
        plan.actions
            .iter()
            .map(|a| (a.op, a.user.as_str()))
            .collect::<Vec<_>>(),
        [(Op::EndSessions, "10019"), (Op::Deactivate, "10019")]
    );
    assert_eq!(failed, 0, "a deactivation that happened is not a failure");
    let user = h.user("10019");
    assert!(user.deactivated_at.is_some());
    assert_eq!(user.sessions, 0, "the reader's sessions were ended");
    assert!(h.plan(leaver).await.is_empty());
}

/// The store the rename tests start from: every seed user named, the rest deactivated.
const RENAMED: &str = "
policy:
  unmanaged: deactivate
users:
  - external_id: staff-000
    email: admin@biblioteca.org
    admin: true
  - external_id: \"10041\"
    email: ana.new@example.org
    password: ${READER_PASSWORD}
  - external_id: \"10019\"
    email: old.reader@example.org
  - external_id: \"10032\"
    email: carmen.vidal@example.org
    state: deactivated
";

fn ops(plan: &rollcall::plan::Plan) -> Vec<(Op, &str)> {
    plan.actions
        .iter()
        .map(|a| (a.op, a.user.as_str()))
        .collect()
}

/// `former_emails` says who a person was: a reader found under an old email is the same account,
/// and its email is changed in place, whether or not the store shows external ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_with_former_emails_changes_the_email_of_the_same_account() {
    let file = RENAMED.replace(
        "    password: ${READER_PASSWORD}\n",
        "    former_emails: [ana.torres@example.org]\n",
    );
    for variants in [&[][..], &["external-ids-shown"]] {
        let h = harness_with(Data::seed(), variants, Faults::default()).await;
        let (plan, failed) = h.apply(&file).await;
        assert_eq!(ops(&plan), [(Op::Update, "10041")], "{variants:?}");
        assert_eq!(
            plan.actions[0]
                .changes
                .iter()
                .map(|c| (
                    c.attribute.as_ref(),
                    c.before.as_deref(),
                    c.after.as_deref()
                ))
                .collect::<Vec<_>>(),
            [(
                "email",
                Some("ana.torres@example.org"),
                Some("ana.new@example.org")
            )]
        );
        assert_eq!(failed, 0);
        let ana = h.user("10041");
        assert_eq!(ana.email, "ana.new@example.org");
        assert!(ana.deactivated_at.is_none(), "still active");
        assert!(h.plan(&file).await.is_empty(), "{variants:?}");
    }
}

/// An email changed without `former_emails`, where the store hides external ids: the plan must
/// create the new address and deactivate the old one, which may be the same person. The
/// removal waits for the create; the store refuses the create (the external id is taken), so
/// the removal is skipped and the reader keeps access.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_the_store_cannot_tell_apart_never_deactivates_the_person() {
    let h = harness(Data::seed(), Faults::default()).await;
    let session = h.session(RENAMED).await;
    let (live, plan) = session.plan(&PlanOptions::default()).await.unwrap();
    assert_eq!(
        ops(&plan),
        [
            (Op::Create, "10041"),
            (Op::EndSessions, "email:ana.torres@example.org"),
            (Op::Deactivate, "email:ana.torres@example.org"),
        ]
    );
    assert!(
        plan.actions[1].after_creates && plan.actions[2].after_creates,
        "the logout and the removal wait for every create"
    );
    let report = apply::run(session.account.clone(), &plan, &live, 4, None, |_, _| {}).await;
    let mut outcomes: Vec<(usize, &apply::Outcome)> =
        report.outcomes.iter().map(|(id, o)| (*id, o)).collect();
    outcomes.sort_by_key(|(id, _)| *id);
    let outcomes: Vec<String> = outcomes
        .into_iter()
        .map(|(id, outcome)| match outcome {
            apply::Outcome::Failed(err) => format!("{id} failed: {err}"),
            apply::Outcome::Skipped(because) => format!("{id} skipped: {because} failed"),
            other => format!("{id} {other:?}"),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "0 failed: HTTP 422: external_id: The external id has already been taken.; if the reader with this external_id had another email, list it under `former_emails`",
            "1 skipped: 0 failed",
            "2 skipped: 0 failed",
        ]
    );
    let ana = h.user("10041");
    assert!(ana.deactivated_at.is_none(), "the person keeps access");
    assert_eq!(ana.sessions, 1, "and stays signed in");

    // Where the store shows external ids, it is one update of the same reader.
    let h = harness_with(Data::seed(), &["external-ids-shown"], Faults::default()).await;
    let (plan, failed) = h.apply(RENAMED).await;
    assert_eq!(ops(&plan), [(Op::Update, "10041")]);
    assert_eq!(failed, 0);
    assert_eq!(h.user("10041").email, "ana.new@example.org");
}

/// Where the store shows external ids, an active reader found by email under another one is
/// shown with its external id rewritten, as the update will do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_id_rewrite_is_shown_where_the_store_shows_them() {
    let h = harness_with(Data::seed(), &["external-ids-shown"], Faults::default()).await;
    let team =
        "users:\n  - external_id: staff-001\n    email: admin@biblioteca.org\n    admin: true\n";
    let plan = h.plan(team).await;
    let target = rollcall::render::TargetInfo {
        provider: rollcall::model::vocab::Provider::PublicaLa,
        url: "https://store.example".into(),
    };
    assert_eq!(
        rollcall::render::human::render(&plan, &target, false),
        "rollcall will perform the following actions on publica-la https://store.example:

  # user \"staff-001\" will be updated in-place
  ~ user \"staff-001\" {
        id          = \"1\"
      ~ external_id = \"staff-000\" -> \"staff-001\"
        # (2 unchanged attributes hidden)
    }

Plan: 0 to create, 1 to change, 0 to delete (1 action).
3 live users are in no file and left alone (`policy.unmanaged: ignore`):
  - 10019 (active)
  - 10032 (deactivated)
  - 10041 (active)
Matched by email, as the account's list does not show them under the files' external_id: staff-001.
"
    );
    let (_, failed) = h.apply(team).await;
    assert_eq!(failed, 0);
    assert_eq!(h.user("staff-001").email, "admin@biblioteca.org");
    assert!(h.plan(team).await.is_empty());
}

/// The shipped example, against the seed store, converges in one apply under the documented
/// shape and under each reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_converges_under_every_reading() {
    let example = include_str!("../examples/publica-la.yaml");
    let body = &example[example.find("policy:").expect("a policy")..];
    let body = body
        .replace("${STAFF_INITIAL_PASSWORD}", "${READER_PASSWORD}")
        .replace("${READER_INITIAL_PASSWORD}", "${READER_PASSWORD}");
    for reading in std::iter::once("").chain(READINGS.iter().copied()) {
        let variants: Vec<&str> = Some(reading)
            .filter(|r| !r.is_empty())
            .into_iter()
            .collect();
        let h = harness_with(Data::seed(), &variants, Faults::default()).await;
        let (plan, failed) = h.apply(&body).await;
        assert_eq!(failed, 0, "{reading}");
        assert_eq!(
            plan.actions.iter().filter(|a| a.op == Op::Create).count(),
            9,
            "{reading}"
        );
        let again = h.plan(&body).await;
        assert!(again.is_empty(), "{reading}: {:?}", again.actions);
        assert!(h.user("10019").deactivated_at.is_some(), "{reading}");
        assert!(h.user("10032").deactivated_at.is_some(), "{reading}");
        assert_eq!(h.sandbox.data().users.len(), 13, "{reading}");
    }
}
