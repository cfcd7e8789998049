//! The planner's properties over generated states, and the rendered plan.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rollcall::model::vocab::{LanguageTag, Provider, State, TargetUrl, Unmanaged};
use rollcall::model::{
    Attributes, Credentials, DesiredState, DesiredUser, LiveState, LiveUser, Names, Policy, Target,
};
use rollcall::plan::{Op, Plan, PlanOptions, plan};
use rollcall::render::{self, TargetInfo};

#[path = "support/scenario.rs"]
mod scenario;
use scenario::{Scenario, live, origin, want};

const EMAILS: [&str; 8] = [
    "ada@acme.org",
    "bob@acme.org",
    "carol@acme.org",
    "dave@acme.org",
    "erin@acme.org",
    "frank@acme.org",
    "grace@acme.org",
    "heidi@acme.org",
];
const LANGUAGES: [&str; 3] = ["en-US", "de-DE", "fr-FR"];
const ROLES: [&str; 2] = ["owner", "user"];

fn desired_user(
    email: &str,
    state: State,
    language: Option<&str>,
    role: Option<&str>,
) -> DesiredUser {
    let mut user = want(email).state(state);
    if let Some(tag) = language {
        user = user.language(tag);
    }
    if let Some(role) = role {
        user = user.roles(&[role]);
    }
    user.build()
}

fn desired(users: Vec<DesiredUser>, unmanaged: Unmanaged) -> DesiredState {
    let mut users = users;
    users.sort_by(|a, b| a.key.cmp(&b.key));
    DesiredState {
        target: Target {
            provider: Provider::PiwikPro,
            url: TargetUrl::Sandbox,
            credentials: Credentials::default(),
            origin: origin(),
        },
        policy: Policy {
            unmanaged,
            ..Policy::default()
        },
        users,
        roles: Vec::new(),
        plans: Vec::new(),
        files: 1,
        digests: Vec::new(),
        paths: vec!["team.yaml".into()],
        groups: Vec::new(),
    }
}

fn live_user(n: usize, email: &str, role: &str, language: &str) -> LiveUser {
    LiveUser {
        id: format!("id-{n}"),
        key: email.to_lowercase(),
        spelling: None,
        blocked: false,
        email: Some(email.to_string()),
        state: State::Active,
        attributes: Attributes::from([("language", language.to_string())]),
        roles: Names::from([role.to_string()]),
    }
}

/// What the account looks like after every action of `plan` succeeded, as Piwik PRO behaves:
/// an invite gives the `user` role and `en-US` unless a language is sent.
fn simulate(live: &LiveState, plan: &Plan) -> LiveState {
    let mut users: BTreeMap<String, LiveUser> = live
        .users
        .iter()
        .map(|u| (u.key.clone(), u.clone()))
        .collect();
    for action in &plan.actions {
        match action.op {
            Op::Create => {
                let user = LiveUser {
                    id: format!("new-{}", action.user),
                    key: action.user.clone(),
                    spelling: None,
                    blocked: false,
                    email: action.after("email").map(str::to_string),
                    state: State::Active,
                    attributes: Attributes::from([(
                        "language",
                        action.after("language").unwrap_or("en-US").to_string(),
                    )]),
                    roles: Names::from(["user".to_string()]),
                };
                assert!(
                    users.insert(action.user.clone(), user).is_none(),
                    "created twice"
                );
            }
            Op::Update => {
                let user = users
                    .get_mut(&action.user)
                    .expect("updating a user that exists");
                for change in &action.changes {
                    let value = change.after.clone().expect("an update sets a value");
                    assert_eq!(
                        change.attribute, "language",
                        "Piwik PRO updates only languages"
                    );
                    user.attributes.insert("language", value);
                }
            }
            Op::Promote | Op::Demote => {
                let user = users
                    .get_mut(&action.user)
                    .expect("a role for a user that exists");
                user.roles = Names::from([action.after("role").unwrap().to_string()]);
            }
            Op::Reactivate | Op::Deactivate => {
                let user = users
                    .get_mut(&action.user)
                    .expect("a state for a user that exists");
                user.state = if action.op == Op::Reactivate {
                    State::Active
                } else {
                    State::Deactivated
                };
            }
            Op::Delete => {
                assert!(
                    users.remove(&action.user).is_some(),
                    "removing a user that is not there"
                );
            }
            op => panic!("Piwik PRO has no {} operation", op.name()),
        }
    }
    LiveState::new(users.into_values().collect(), live.own_key.clone())
}

prop_compose! {
    fn live_state()(picks in proptest::collection::vec((any::<bool>(), 0..2usize, 0..3usize), EMAILS.len())) -> LiveState {
        let users = picks
            .iter()
            .enumerate()
            .filter(|(_, (present, _, _))| *present)
            .map(|(n, (_, role, language))| live_user(n, EMAILS[n], ROLES[*role], LANGUAGES[*language]))
            .collect();
        LiveState::new(users, None)
    }
}

prop_compose! {
    fn desired_state()(
        picks in proptest::collection::vec((0..4u8, proptest::option::of(0..3usize), proptest::option::of(0..2usize)), EMAILS.len()),
        delete_unmanaged in any::<bool>(),
    ) -> DesiredState {
        let users = picks
            .iter()
            .enumerate()
            .filter_map(|(n, (mode, language, role))| {
                // 0: not in the files; 1: absent; otherwise active.
                let state = match mode {
                    0 => return None,
                    1 => State::Absent,
                    _ => State::Active,
                };
                let (language, role) = if state == State::Absent {
                    (None, None)
                } else {
                    (language.map(|l| LANGUAGES[l]), role.map(|r| ROLES[r]))
                };
                Some(desired_user(EMAILS[n], state, language, role))
            })
            .collect();
        desired(users, if delete_unmanaged { Unmanaged::Delete } else { Unmanaged::Ignore })
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn applying_the_plan_reaches_the_desired_state(live in live_state(), want in desired_state()) {
        let plan1 = plan(&want, &live, &PlanOptions::default());
        prop_assert_eq!(&plan1, &plan(&want, &live, &PlanOptions::default()), "deterministic");
        prop_assume!(plan1.blocked.is_empty());
        let after = simulate(&live, &plan1);
        let replan = plan(&want, &after, &PlanOptions::default());
        prop_assert!(replan.is_empty(), "re-planning after apply is empty: {:?}", replan.actions);

        let by_key: BTreeMap<&str, &LiveUser> = after.users.iter().map(|u| (u.key.as_str(), u)).collect();
        for user in &want.users {
            let live = by_key.get(user.key.as_str());
            match user.state {
                State::Absent => prop_assert!(live.is_none()),
                _ => {
                    let live = live.expect("an active user exists");
                    if let Some(language) = &user.language {
                        prop_assert_eq!(live.attributes.get("language").map(String::as_str), Some(language.as_str()));
                    }
                    if let Some(roles) = &user.roles {
                        prop_assert_eq!(live.roles.iter().collect::<Vec<_>>(), roles.iter().collect::<Vec<_>>());
                    }
                }
            }
        }
        let wanted: BTreeSet<&str> = want.users.iter().map(|u| u.key.as_str()).collect();
        for user in &live.users {
            if !wanted.contains(user.key.as_str()) {
                let kept = by_key.contains_key(user.key.as_str());
                prop_assert_eq!(kept, want.policy.unmanaged == Unmanaged::Ignore);
            }
        }
    }

    #[test]
    fn the_order_respects_every_dependency(live in live_state(), want in desired_state()) {
        let plan = plan(&want, &live, &PlanOptions::default());
        let mut created = BTreeMap::new();
        for action in &plan.actions {
            prop_assert_eq!(action.id, plan.actions.iter().position(|a| std::ptr::eq(a, action)).unwrap());
            prop_assert!(action.depends_on.iter().all(|&d| d < action.id), "dependencies come first");
            if action.op == Op::Create {
                created.insert(action.user.clone(), action.id);
            } else if let Some(&create) = created.get(&action.user) {
                prop_assert!(action.depends_on.contains(&create), "a new user exists before its role");
            }
        }
        let last_promotion = plan.actions.iter().filter(|a| a.op == Op::Promote).map(|a| a.id).max();
        for action in &plan.actions {
            let demotes_owner = action.op == Op::Demote
                || (action.op.is_removal() && action.changes.iter().any(|c| c.attribute == "role" && c.before.as_deref() == Some("owner")));
            if let (true, Some(last)) = (demotes_owner, last_promotion) {
                prop_assert!(action.id > last, "promotions before demotions and owner removals");
                let promotions: Vec<_> = plan.actions.iter().filter(|a| a.op == Op::Promote).map(|a| a.id).collect();
                prop_assert!(promotions.iter().all(|p| action.depends_on.contains(p)));
            }
        }
    }

    #[test]
    fn an_account_never_loses_its_last_owner(live in live_state(), want in desired_state()) {
        let plan = plan(&want, &live, &PlanOptions::default());
        let had_owner = live.users.iter().any(|u| u.roles.contains("owner"));
        if had_owner && plan.blocked.is_empty() {
            let after = simulate(&live, &plan);
            prop_assert!(after.users.iter().any(|u| u.roles.contains("owner")));
        }
    }
}

#[test]
fn the_human_plan_reads_like_terraform() {
    let (_, plan, target) = fixture();
    insta::assert_snapshot!(
        render::human::render(&plan, &target, false),
        @r#"
rollcall will perform the following actions on piwik-pro https://acme.piwik.pro:

  # user "ada@acme.org" will be invited
  + user "ada@acme.org" {
      + email    = "ada@acme.org"
      + language = "de-DE"
      + role     = "owner"
    }

  # user "bob@acme.org" will be updated in-place
  ~ user "bob@acme.org" {
        id       = "id-1"
      ~ language = "en-US" -> "fr-FR"
        # (2 unchanged attributes hidden)
    }

  # user "eve@acme.org" will be deleted (`state: absent` in team.yaml:7)
  - user "eve@acme.org" {
      - email = "eve@acme.org"
      - role  = "user"
    }

Plan: 1 to invite, 1 to change, 1 to delete (4 actions).
1 live user is in no file and left alone (`policy.unmanaged: ignore`):
  - api@acme.org (owner, active)
"#
    );
    let no_changes = plan_for_matching_state();
    assert_eq!(
        render::human::render(&no_changes, &target, false),
        "No changes. The account matches the files.\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&render::json::render(&plan, &target)).unwrap();
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["summary"]["create"], 1);
    assert_eq!(json["actions"][2]["op"], "promote");
    assert_eq!(json["actions"][2]["user"], "ada@acme.org");
    assert_eq!(json["actions"][2]["depends_on"], serde_json::json!([0]));
}

fn plan_for_matching_state() -> Plan {
    let live = LiveState::new(vec![live_user(1, "bob@acme.org", "user", "en-US")], None);
    let want = desired(
        vec![desired_user(
            "bob@acme.org",
            State::Active,
            Some("en-US"),
            None,
        )],
        Unmanaged::Ignore,
    );
    plan(&want, &live, &PlanOptions::default())
}

/// The fixture of `the_human_plan_reads_like_terraform`, for the other renderers.
fn fixture() -> (LiveState, Plan, TargetInfo) {
    let live = LiveState::new(
        vec![
            live_user(1, "bob@acme.org", "user", "en-US"),
            live_user(2, "eve@acme.org", "user", "en-US"),
            live_user(3, "api@acme.org", "owner", "en-US"),
        ],
        Some("api@acme.org".into()),
    );
    let want = desired(
        vec![
            desired_user("ada@acme.org", State::Active, Some("de-DE"), Some("owner")),
            desired_user("bob@acme.org", State::Active, Some("fr-FR"), Some("user")),
            desired_user("eve@acme.org", State::Absent, None, None),
        ],
        Unmanaged::Ignore,
    );
    let plan = plan(&want, &live, &PlanOptions::default());
    let target = TargetInfo {
        provider: Provider::PiwikPro,
        url: "https://acme.piwik.pro".into(),
    };
    (live, plan, target)
}

#[test]
fn the_markdown_plan_calls_out_removals_first() {
    let (_, plan, target) = fixture();
    let text = render::markdown::render(&plan, &target, Some("sha256:abc"));
    let expected = r#"<!-- rollcall-plan piwik-pro https://acme.piwik.pro -->
### rollcall plan: piwik-pro `https://acme.piwik.pro`

| status | invite | change | restore | reactivate | deactivate | delete | unchanged | unmanaged, left alone | out of scope |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| 📝 changes | 1 | 1 | 0 | 0 | 0 | 1 | 0 | 1 | 0 |

Plan: 1 to invite, 1 to change, 1 to delete (4 actions).

**⚠️ 1 owner or admin in no file**

- `api@acme.org` (`owner, active`)

**Removals and role changes**

- **promote** `ada@acme.org`: role `user` → `owner`
- **delete** `eve@acme.org`: `state: absent` in team.yaml:7

<details><summary>Full plan (3 users)</summary>

```diff
   # user "ada@acme.org" will be invited
+   user "ada@acme.org" {
+       email    = "ada@acme.org"
+       language = "de-DE"
+       role     = "owner"
     }
 
   # user "bob@acme.org" will be updated in-place
!   user "bob@acme.org" {
        id       = "id-1"
!       language = "en-US" -> "fr-FR"
         # (2 unchanged attributes hidden)
     }
 
   # user "eve@acme.org" will be deleted (`state: absent` in team.yaml:7)
-   user "eve@acme.org" {
-       email = "eve@acme.org"
-       role  = "user"
     }
 
```

</details>

Saved plan: `sha256:abc`
"#;
    assert_eq!(text, expected);
}

#[test]
fn the_diff_plan_shows_live_against_desired() {
    let (live, plan, _) = fixture();
    insta::assert_snapshot!(
        render::diff::render(&plan, &live),
        @"
# 1 live user is in no file and left alone (`policy.unmanaged: ignore`):
#   - api@acme.org (owner, active)
--- /dev/null
+++ desired/ada@acme.org
@@ -0,0 +1,3 @@
+email: ada@acme.org
+language: de-DE
+role: owner
--- live/bob@acme.org
+++ desired/bob@acme.org
@@ -1,3 +1,3 @@
 email: bob@acme.org
-language: en-US
+language: fr-FR
 role: user
--- live/eve@acme.org
+++ /dev/null
@@ -1,3 +0,0 @@
-email: eve@acme.org
-language: en-US
-role: user
"
    );
}

prop_compose! {
    /// A live state whose credentials belong to one of its users.
    fn live_with_own_user()(live in live_state(), pick in any::<proptest::sample::Index>()) -> LiveState {
        let own = (!live.users.is_empty()).then(|| live.users[pick.index(live.users.len())].key.clone());
        LiveState::new(live.users, own)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the files say, a plan that is not blocked never removes or demotes the user the
    /// credentials belong to (and a blocked plan is never applied).
    #[test]
    fn the_own_user_survives_any_file(live in live_with_own_user(), want in desired_state()) {
        let plan = plan(&want, &live, &PlanOptions::default());
        if let (Some(own), true) = (&live.own_key, plan.blocked.is_empty()) {
            let before = live.users.iter().find(|u| &u.key == own).unwrap();
            let after = simulate(&live, &plan);
            let now = after.users.iter().find(|u| &u.key == own);
            prop_assert!(now.is_some(), "the own user was removed");
            let demoted = before.roles.contains("owner") && !now.unwrap().roles.contains("owner");
            prop_assert!(!demoted, "the own user was demoted");
        }
    }
}

#[test]
fn protected_users_are_left_alone_and_listed() {
    let live = LiveState::new(
        vec![
            live_user(1, "bot@svc.acme.org", "user", "en-US"),
            live_user(2, "bob@acme.org", "user", "en-US"),
        ],
        None,
    );
    let mut want = desired(
        vec![desired_user("bot@svc.acme.org", State::Absent, None, None)],
        Unmanaged::Delete,
    );
    want.policy.protect = vec!["*@svc.acme.org".into()];
    let plan = plan(&want, &live, &PlanOptions::default());
    assert_eq!(plan.protected, ["bot@svc.acme.org"]);
    let users: Vec<&str> = plan.actions.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(
        users,
        ["bob@acme.org"],
        "only the unprotected, unmanaged user is deleted"
    );
    let target = TargetInfo {
        provider: Provider::PiwikPro,
        url: "https://acme.piwik.pro".into(),
    };
    let text = render::human::render(&plan, &target, false);
    assert!(
        text.contains("Protected by `policy.protect`, left as they are: bot@svc.acme.org."),
        "{text}"
    );
    assert!(
        text.contains("(in no file, and the policy is `unmanaged: delete`)"),
        "{text}"
    );
}

#[test]
fn a_share_of_removals_is_only_enforced_on_larger_accounts() {
    use rollcall::model::vocab::MaxRemovals;
    let small = LiveState::new(
        (0..5)
            .map(|n| live_user(n, &format!("u{n}@acme.org"), "user", "en-US"))
            .collect(),
        None,
    );
    let mut want = desired(
        vec![desired_user("u0@acme.org", State::Absent, None, None)],
        Unmanaged::Ignore,
    );
    want.policy.max_removals = Some(MaxRemovals::Percent(10));
    assert!(
        plan(&want, &small, &PlanOptions::default())
            .blocked
            .is_empty(),
        "one leaver of five"
    );

    let large = LiveState::new(
        (0..40)
            .map(|n| live_user(n, &format!("u{n:02}@acme.org"), "user", "en-US"))
            .collect(),
        None,
    );
    let leavers: Vec<_> = (0..5)
        .map(|n| desired_user(&format!("u{n:02}@acme.org"), State::Absent, None, None))
        .collect();
    let mut want = desired(leavers, Unmanaged::Ignore);
    want.policy.max_removals = Some(MaxRemovals::Percent(10));
    let blocked = plan(&want, &large, &PlanOptions::default()).blocked;
    assert_eq!(blocked.len(), 1);
    assert_eq!(
        blocked[0].message,
        "the plan removes 5 users; `max_removals` allows at most 4"
    );
    let options = PlanOptions {
        allow_removals: Some(5),
        ..PlanOptions::default()
    };
    assert!(plan(&want, &large, &options).blocked.is_empty());
    want.policy.max_removals = Some(MaxRemovals::Count(0));
    assert_eq!(
        plan(&want, &small_one(), &PlanOptions::default())
            .blocked
            .len(),
        1,
        "a count is always enforced"
    );
}

fn small_one() -> LiveState {
    LiveState::new(vec![live_user(0, "u00@acme.org", "user", "en-US")], None)
}

#[test]
fn attributes_are_compared_generically_for_any_provider() {
    // A Publica.la-shaped user: identity external_id, several scalar attributes in one update.
    let mut want_user = desired_user("reader@example.org", State::Active, None, None);
    want_user.key = "10041".into();
    want_user.details_mut().external_id = Some("10041".into());
    want_user.details_mut().admin = Some(true);
    want_user.details_mut().sessions_limit = Some(3);
    want_user.details_mut().only_sees_readable = Some(false);
    let mut want = desired(vec![want_user], Unmanaged::Ignore);
    want.target.provider = Provider::PublicaLa;
    let live = LiveState::new(
        vec![LiveUser {
            id: "77".into(),
            key: "10041".into(),
            spelling: None,
            blocked: false,
            email: Some("reader@example.org".into()),
            state: State::Active,
            attributes: Attributes::from([
                ("email", "reader@example.org".to_string()),
                ("admin", "false".to_string()),
                ("only_sees_readable", "false".to_string()),
                ("sessions_limit", "1".to_string()),
            ]),
            roles: Names::default(),
        }],
        None,
    );
    let plan = plan(&want, &live, &PlanOptions::default());
    assert_eq!(plan.actions.len(), 1);
    let update = &plan.actions[0];
    assert_eq!(update.op, Op::Update);
    let changed: Vec<(&str, Option<&str>, Option<&str>)> = update
        .changes
        .iter()
        .map(|c| {
            (
                c.attribute.as_ref(),
                c.before.as_deref(),
                c.after.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("admin", Some("false"), Some("true")),
            ("sessions_limit", Some("1"), Some("3"))
        ]
    );
    assert_eq!(
        update.unchanged, 3,
        "identity, email and only_sees_readable stay"
    );
}

/// A Publica.la account with one live reader in `state`, and the file wanting `want_state`.
fn publica(state: State, want_state: State, sessions_limit: Option<u32>) -> Plan {
    let mut user = desired_user("reader@example.org", want_state, None, None);
    user.key = "r1".into();
    user.details_mut().external_id = Some("r1".into());
    user.details_mut().sessions_limit = sessions_limit;
    let mut want = desired(vec![user], Unmanaged::Ignore);
    want.target.provider = Provider::PublicaLa;
    let live = LiveState::new(
        vec![LiveUser {
            id: "9".into(),
            key: "r1".into(),
            spelling: None,
            blocked: false,
            email: Some("reader@example.org".into()),
            state,
            attributes: Attributes::from([
                ("email", "reader@example.org".to_string()),
                ("sessions_limit", "1".to_string()),
            ]),
            roles: Names::default(),
        }],
        None,
    );
    plan(&want, &live, &PlanOptions::default())
}

#[test]
fn a_deactivated_user_is_reactivated_before_it_is_updated() {
    let plan = publica(State::Deactivated, State::Active, Some(2));
    let ops: Vec<Op> = plan.actions.iter().map(|a| a.op).collect();
    assert_eq!(ops, [Op::Reactivate, Op::Update]);
    assert_eq!(plan.actions[1].depends_on, [0]);
    let target = TargetInfo {
        provider: Provider::PublicaLa,
        url: "https://store.publica.la".into(),
    };
    let text = render::human::render(&plan, &target, false);
    assert!(
        text.contains("# user \"r1\" will be reactivated and updated in-place"),
        "{text}"
    );
    assert!(
        text.contains("~ state          = \"deactivated\" -> \"active\""),
        "{text}"
    );
    assert!(
        text.contains("Plan: 0 to create, 0 to change, 1 to reactivate, 0 to delete (2 actions)."),
        "{text}"
    );
}

#[test]
fn deactivation_follows_the_state_and_the_provider() {
    let ops = |plan: Plan| plan.actions.iter().map(|a| a.op).collect::<Vec<_>>();
    // A user to be deactivated is brought up to date while it still can be, and only then
    // deactivated.
    let plan = publica(State::Active, State::Deactivated, Some(2));
    assert_eq!(
        ops(plan.clone()),
        [Op::Update, Op::EndSessions, Op::Deactivate]
    );
    assert_eq!(plan.actions[2].depends_on, [0, 1]);
    // Publica.la cannot change a deactivated user: the difference is reported, not hidden.
    let plan = publica(State::Deactivated, State::Deactivated, Some(2));
    assert_eq!(ops(plan.clone()), []);
    assert_eq!(
        plan.unfixable,
        ["r1: sessions_limit \"1\" -> \"2\" (Publica.la cannot change a deactivated user)"]
    );
    assert!(!plan.matches());
    assert!(publica(State::Deactivated, State::Deactivated, Some(1)).matches());
    // Publica.la's only removal is deactivation: an absent user that is deactivated is done.
    assert_eq!(ops(publica(State::Deactivated, State::Absent, None)), []);
    let plan = publica(State::Active, State::Absent, None);
    assert_eq!(ops(plan.clone()), [Op::EndSessions, Op::Deactivate]);
    assert_eq!(
        plan.actions[1].reason.as_deref(),
        Some("`state: absent` in team.yaml:7")
    );
}

#[test]
fn an_unmanaged_user_already_deactivated_is_left_alone() {
    let mut want = desired(Vec::new(), Unmanaged::Deactivate);
    want.target.provider = Provider::PublicaLa;
    let user = |state| LiveUser {
        id: "5".into(),
        key: "email:gone@example.org".into(),
        spelling: None,
        blocked: false,
        email: Some("gone@example.org".into()),
        state,
        attributes: Attributes::default(),
        roles: Names::default(),
    };
    let deactivated = LiveState::new(vec![user(State::Deactivated)], None);
    assert!(plan(&want, &deactivated, &PlanOptions::default()).is_empty());
    let active = LiveState::new(vec![user(State::Active)], None);
    let plan = plan(&want, &active, &PlanOptions::default());
    assert_eq!(
        plan.actions.iter().map(|a| a.op).collect::<Vec<_>>(),
        [Op::EndSessions, Op::Deactivate]
    );
    let target = TargetInfo {
        provider: Provider::PublicaLa,
        url: "https://store.publica.la".into(),
    };
    let text = render::human::render(&plan, &target, false);
    assert!(
        text.contains("# user \"gone@example.org\" will be logged out and deactivated (in no file"),
        "{text}"
    );
}

// BEdita: roles as sets of declared resources, deactivation, and a trash users come back from.

const NAMES: [&str; 6] = ["ada", "bob", "carol", "dave", "erin", "frank"];
/// Declared in the files; `desk` does not exist live until it is created.
const DECLARED: [&str; 4] = ["admin", "editor", "reviewer", "desk"];
/// Live at the start; `legacy` is in no file.
const LIVE_ROLES: [&str; 4] = ["admin", "editor", "reviewer", "legacy"];
const STATES: [State; 3] = [State::Active, State::Deactivated, State::Absent];

fn pick<C: FromIterator<String>>(names: &[&str], mask: u8) -> C {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn bedita_live_role(id: usize, name: &str) -> rollcall::model::LiveRole {
    rollcall::model::LiveRole {
        id: id.to_string(),
        name: name.to_string(),
        description: None,
        builtin: name == "admin",
    }
}

/// The plan's actions in the latest order its dependencies allow: whenever several are ready,
/// the one planned last runs first. Running them so shows the dependencies are enough.
fn latest_order(plan: &Plan) -> Vec<&rollcall::plan::Action> {
    let mut done = vec![false; plan.actions.len()];
    let mut order = Vec::new();
    while order.len() < plan.actions.len() {
        let next = plan
            .actions
            .iter()
            .rev()
            .find(|a| !done[a.id] && a.depends_on.iter().all(|d| done[*d]))
            .expect("the dependencies have no cycle");
        done[next.id] = true;
        order.push(next);
    }
    order
}

/// What BEdita holds after every action of `plan` succeeded, run in [`latest_order`].
fn simulate_bedita(live: &LiveState, plan: &Plan) -> LiveState {
    let mut users: BTreeMap<String, LiveUser> = live
        .users
        .iter()
        .map(|u| (u.key.clone(), u.clone()))
        .collect();
    let mut roles = live.roles.clone().unwrap_or_default();
    let state_of = |text: Option<&str>| match text {
        Some("deactivated") => State::Deactivated,
        _ => State::Active,
    };
    for action in latest_order(plan) {
        let user = users.get_mut(&action.user);
        match (action.op, user) {
            (Op::CreateRole, _) => {
                assert!(roles.iter().all(|r| r.name != action.user), "role twice");
                roles.push(bedita_live_role(100 + action.id, &action.user));
            }
            (Op::UpdateRole, _) => {
                let role = roles.iter_mut().find(|r| r.name == action.user).unwrap();
                role.description = action.after("description").map(str::to_string);
            }
            (Op::DeleteRole, _) => {
                assert!(
                    users
                        .values()
                        .filter(|u| u.state != State::Absent)
                        .all(|u| !u.roles.contains(&action.user)),
                    "a role is deleted while someone holds it"
                );
                roles.retain(|r| r.name != action.user);
                for user in users.values_mut() {
                    user.roles.remove(&action.user);
                }
            }
            (Op::Create, None) => {
                let mut attributes = Attributes::default();
                if let Some(language) = action.after("language") {
                    attributes.insert("language", language.to_string());
                }
                users.insert(
                    action.user.clone(),
                    LiveUser {
                        id: format!("new-{}", action.user),
                        key: action.user.clone(),
                        spelling: None,
                        blocked: false,
                        email: None,
                        state: state_of(action.after("state")),
                        attributes,
                        roles: Names::default(),
                    },
                );
            }
            (Op::Create, Some(_)) => panic!("{} created twice", action.user),
            (Op::Restore, Some(user)) => {
                assert_eq!(
                    user.state,
                    State::Absent,
                    "restoring a user not in the trash"
                );
                user.state = state_of(action.after("state"));
                if let Some(list) = action.after("roles") {
                    user.roles = list
                        .split(", ")
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect();
                }
            }
            (op, Some(user)) => {
                assert_ne!(user.state, State::Absent, "{} on a trashed user", op.name());
                match op {
                    Op::Update => {
                        for change in &action.changes {
                            assert_eq!(change.attribute, "language");
                            user.attributes
                                .insert("language", change.after.clone().unwrap());
                        }
                    }
                    Op::Grant | Op::Revoke => {
                        for role in action.roles() {
                            assert!(
                                roles.iter().any(|r| r.name == role),
                                "{role} is granted or revoked before it exists"
                            );
                            if op == Op::Grant {
                                user.roles.insert(role.to_string());
                            } else {
                                user.roles.remove(role);
                            }
                        }
                    }
                    Op::Reactivate => user.state = State::Active,
                    Op::Deactivate => user.state = State::Deactivated,
                    Op::Delete => user.state = State::Absent,
                    op => panic!("BEdita has no {} operation", op.name()),
                }
            }
            (op, None) => panic!("{} on {}, who does not exist", op.name(), action.user),
        }
    }
    let mut state = LiveState::new(users.into_values().collect(), live.own_key.clone());
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    state.roles = Some(roles);
    state
}

prop_compose! {
    fn bedita_live()(picks in proptest::collection::vec((any::<bool>(), 0..3usize, 0..16u8, 0..3usize), NAMES.len())) -> LiveState {
        let users = picks
            .iter()
            .enumerate()
            .filter(|(_, (present, ..))| *present)
            .map(|(n, (_, state, roles, language))| LiveUser {
                id: (10 + n).to_string(),
                key: NAMES[n].to_string(),
                spelling: None,
                blocked: false,
                email: None,
                state: STATES[*state],
                attributes: Attributes::from([("language", LANGUAGES[*language].to_string())]),
                // The trash does not show roles.
                roles: if STATES[*state] == State::Absent {
                    Names::default()
                } else {
                    pick(&LIVE_ROLES, *roles)
                },
            })
            .collect();
        let mut live = LiveState::new(users, None);
        live.roles = Some(
            LIVE_ROLES
                .iter()
                .enumerate()
                .map(|(i, name)| bedita_live_role(i + 1, name))
                .collect(),
        );
        live
    }
}

prop_compose! {
    fn bedita_desired()(
        picks in proptest::collection::vec((0..4u8, proptest::option::of(0..16u8), proptest::option::of(0..3usize)), NAMES.len()),
        unmanaged in 0..3usize,
        delete_roles in any::<bool>(),
    ) -> DesiredState {
        let users = picks
            .iter()
            .enumerate()
            .filter_map(|(n, (mode, roles, language))| {
                let state = match mode {
                    0 => return None,
                    1 => State::Absent,
                    2 => State::Deactivated,
                    _ => State::Active,
                };
                let mut user = desired_user("x@acme.org", state, None, None);
                user.key = NAMES[n].to_string();
                user.details_mut().username = Some(NAMES[n].to_string());
                user.email = None;
                if state == State::Active {
                    user.roles = roles.map(|mask| pick(&DECLARED, mask));
                    user.language = language.map(|l| LanguageTag::parse(LANGUAGES[l]).unwrap());
                }
                Some(user)
            })
            .collect();
        let policy = [Unmanaged::Ignore, Unmanaged::Deactivate, Unmanaged::Delete][unmanaged];
        let mut state = desired(users, policy);
        state.target.provider = Provider::Bedita;
        state.policy.unmanaged_roles = if delete_roles {
            rollcall::model::vocab::UnmanagedRoles::Delete
        } else {
            rollcall::model::vocab::UnmanagedRoles::Ignore
        };
        state.roles = DECLARED
            .iter()
            .map(|name| rollcall::model::DesiredRole {
                name: name.to_string(),
                description: None,
                origin: origin(),
            })
            .collect();
        state
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bedita_plans_converge_in_one_apply(live in bedita_live(), want in bedita_desired()) {
        let first = plan(&want, &live, &PlanOptions::default());
        for action in &first.actions {
            prop_assert!(action.depends_on.iter().all(|d| *d < action.id));
        }
        let after = simulate_bedita(&live, &first);
        let second = plan(&want, &after, &PlanOptions::default());
        prop_assert!(second.is_empty(), "{:?}\nthen {:?}", first.actions, second.actions);
    }
}

#[test]
fn a_bedita_plan_shows_roles_grants_revokes_and_restores() {
    let mut live = LiveState::new(
        vec![
            LiveUser {
                id: "10".into(),
                key: "ada".into(),
                spelling: None,
                blocked: false,
                email: None,
                state: State::Active,
                attributes: Attributes::default(),
                roles: pick(&LIVE_ROLES, 0b1010),
            },
            LiveUser {
                id: "11".into(),
                key: "bob".into(),
                spelling: None,
                blocked: false,
                email: None,
                state: State::Absent,
                attributes: Attributes::default(),
                roles: Names::default(),
            },
        ],
        None,
    );
    live.roles = Some(
        LIVE_ROLES
            .iter()
            .enumerate()
            .map(|(i, name)| bedita_live_role(i + 1, name))
            .collect(),
    );
    let user = |name: &str, roles: u8| {
        let mut user = desired_user("x@acme.org", State::Active, None, None);
        user.key = name.to_string();
        user.details_mut().username = Some(name.to_string());
        user.email = None;
        user.roles = Some(pick(&DECLARED, roles));
        user
    };
    let mut want = desired(
        vec![
            user("ada", 0b1010),
            user("bob", 0b0010),
            user("carol", 0b1000),
        ],
        Unmanaged::Ignore,
    );
    want.target.provider = Provider::Bedita;
    want.policy.unmanaged_roles = rollcall::model::vocab::UnmanagedRoles::Delete;
    want.roles = DECLARED
        .iter()
        .map(|name| rollcall::model::DesiredRole {
            name: name.to_string(),
            description: None,
            origin: origin(),
        })
        .collect();
    let planned = plan(&want, &live, &PlanOptions::default());
    let target = TargetInfo {
        provider: Provider::Bedita,
        url: "https://api.magazine.example.com".into(),
    };
    let text = render::human::render(&planned, &target, false);
    insta::assert_snapshot!(text, @r#"
rollcall will perform the following actions on bedita https://api.magazine.example.com:

  # role "desk" will be created
  + role "desk" {
      + name = "desk"
    }

  # user "bob" will be restored from the trash
  ~ user "bob" {
        id    = "11"
      ~ state = "absent" -> "active"
      + roles = ["editor"]
    }

  # user "carol" will be created
  + user "carol" {
      + username = "carol"
      + roles    = ["desk"]
    }

  # user "ada" will be updated in-place
  ~ user "ada" {
        id    = "10"
      + roles = ["desk"]
      - roles = ["legacy"]
        # (1 unchanged attribute hidden)
    }

  # role "legacy" will be deleted (role "legacy" is in no file, and the policy is `unmanaged_roles: delete`)
  - role "legacy" {
      - name = "legacy"
    }

Plan: 1 to create, 1 to change, 1 to restore, 0 to delete; 1 role to create, 1 to delete (7 actions).
"#);
    // The deletion waits for the revoke; carol's grant for the role and for carol.
    let by = |op: Op, user: &str| {
        planned
            .actions
            .iter()
            .find(|a| a.op == op && a.user == user)
            .unwrap()
            .id
    };
    let revoke = by(Op::Revoke, "ada");
    assert_eq!(
        planned.actions[by(Op::DeleteRole, "legacy")].depends_on,
        [revoke]
    );
    assert_eq!(
        planned.actions[by(Op::Grant, "carol")].depends_on,
        [by(Op::CreateRole, "desk"), by(Op::Create, "carol")]
    );
}

#[test]
fn deactivating_the_last_active_admin_is_blocked() {
    let admin = |id: &str, key: &str, state: State| LiveUser {
        id: id.into(),
        key: key.into(),
        spelling: None,
        blocked: false,
        email: None,
        state,
        attributes: Attributes::default(),
        roles: Names::from(["admin".to_string()]),
    };
    let mut live = LiveState::new(
        vec![
            admin("10", "ada", State::Active),
            admin("11", "bob", State::Deactivated),
        ],
        None,
    );
    live.roles = Some(vec![bedita_live_role(1, "admin")]);
    let mut ada = desired_user("x@acme.org", State::Deactivated, None, None);
    ada.key = "ada".into();
    ada.details_mut().username = Some("ada".into());
    ada.email = None;
    let mut want = desired(vec![ada], Unmanaged::Ignore);
    want.target.provider = Provider::Bedita;
    let planned = plan(&want, &live, &PlanOptions::default());
    let guards: Vec<&str> = planned.blocked.iter().map(|b| b.guard.as_ref()).collect();
    assert_eq!(guards, ["last-owner"], "a deactivated admin cannot sign in");
    assert_eq!(
        planned.blocked[0].message,
        "the plan would leave BEdita with no `admin`"
    );
}

/// The counts every format shows for `plan`: human, Markdown and JSON must agree with the view,
/// and with each other.
fn assert_formats_agree(plan: &Plan, provider: Provider) -> Result<(), TestCaseError> {
    let target = TargetInfo {
        provider,
        url: "https://account.example.com".into(),
    };
    let counts = rollcall::plan::view::View::new(plan).counts;
    prop_assert_eq!(counts.actions, plan.actions.len());
    prop_assert_eq!(
        counts.create
            + counts.restore
            + counts.reactivate
            + counts.change
            + counts.deactivate
            + counts.delete,
        plan.users_with(&[
            Op::Create,
            Op::Restore,
            Op::Reactivate,
            Op::Update,
            Op::Promote,
            Op::Grant,
            Op::Demote,
            Op::Revoke,
            Op::Deactivate,
            Op::Delete,
        ]),
        "every user is counted once"
    );
    if plan.is_empty() {
        return Ok(());
    }
    let sentence = format!("Plan: {}.", counts.sentence(provider.capabilities()));
    let human = render::human::render(plan, &target, false);
    prop_assert!(human.contains(&format!("\n{sentence}\n")), "{}", human);
    let markdown = render::markdown::render(plan, &target, None);
    prop_assert!(
        markdown.contains(&format!("\n{sentence}\n")),
        "{}",
        markdown
    );
    let row = markdown
        .lines()
        .find(|l| l.starts_with("| 📝") || l.starts_with("| ⛔"))
        .expect("a summary row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    prop_assert_eq!(
        &cells[2..8],
        &[
            counts.create,
            counts.change,
            counts.restore,
            counts.reactivate,
            counts.deactivate,
            counts.delete
        ]
        .map(|n| n.to_string())[..]
    );
    let json: serde_json::Value =
        serde_json::from_str(&render::json::render(plan, &target)).expect("JSON");
    prop_assert_eq!(
        &json["counts"],
        &serde_json::to_value(counts).expect("counts as JSON")
    );
    prop_assert_eq!(
        json["actions"].as_array().map(Vec::len),
        Some(counts.actions)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_format_counts_a_piwik_plan_alike(live in live_state(), want in desired_state()) {
        let planned = plan(&want, &live, &PlanOptions::default());
        assert_formats_agree(&planned, Provider::PiwikPro)?;
    }

    #[test]
    fn every_format_counts_a_bedita_plan_alike(live in bedita_live(), want in bedita_desired()) {
        let planned = plan(&want, &live, &PlanOptions::default());
        assert_formats_agree(&planned, Provider::Bedita)?;
    }
}

/// A deactivated BEdita user is managed like an active one: a role the file drops is revoked and
/// a field it changes is updated, and the plan never says the account matches when it does not.
#[test]
fn a_deactivated_bedita_user_keeps_its_roles_and_fields_in_line() {
    let planned = Scenario::bedita()
        .roles(&["admin", "editor", "legacy"])
        .live(
            live("kai")
                .deactivated()
                .attribute("name", "Kai")
                .roles(&["editor", "legacy"]),
        )
        .want(
            want("kai")
                .deactivated()
                .name("Kai Lund")
                .roles(&["editor"]),
        )
        .plan();
    let ops: Vec<(Op, Vec<Option<&str>>)> = planned
        .actions
        .iter()
        .map(|a| {
            (
                a.op,
                a.changes.iter().map(|c| c.before.as_deref()).collect(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            (Op::Update, vec![Some("Kai")]),
            (Op::Revoke, vec![Some("legacy")]),
        ]
    );
    assert!(planned.unfixable.is_empty());
}

/// Lifting a BEdita block takes the admin role; signed in without it, the service would answer
/// yes and change nothing, so the plan is stopped at plan time, naming why.
#[test]
fn an_unblock_without_the_admin_role_is_stopped_at_plan_time() {
    let plan_as = |signed_in_roles: &[&str]| {
        Scenario::bedita()
            .roles(&["admin", "editor"])
            .live(live("bot").roles(signed_in_roles))
            .live(live("kai").blocked())
            .signed_in_as("bot")
            .want(want("kai"))
            .plan()
    };
    assert_eq!(
        plan_as(&["editor"]).blocked,
        [rollcall::plan::Blocked {
            guard: "unblock-needs-admin".into(),
            message: "`kai` is blocked, and only a user with the `admin` role can lift a block; the user rollcall signs in as has not".into(),
            hint: Some("sign in as a user holding `admin`, or lift the block in BEdita first".into()),
        }]
    );
    assert!(plan_as(&["admin"]).blocked.is_empty());
}

/// Publica.la has no roles, but its `admin` flag runs the store: the plan that would leave no
/// active administrator is stopped, whether it deactivates the last one or clears its flag.
#[test]
fn a_publica_store_never_loses_its_last_admin() {
    let store = || {
        Scenario::publica()
            .live(
                live("staff-1")
                    .attribute("admin", "true")
                    .attribute("email", "s@x.org"),
            )
            .live(
                live("reader-1")
                    .attribute("admin", "false")
                    .attribute("email", "r@x.org"),
            )
    };
    let expected = [rollcall::plan::Blocked {
        guard: "last-owner".into(),
        message: "the plan would leave Publica.la with no `admin`".into(),
        hint: Some("keep at least one active user with `admin: true`".into()),
    }];
    assert_eq!(
        store().want(want("staff-1").deactivated()).plan().blocked,
        expected
    );
    assert_eq!(
        store().want(want("staff-1").admin(false)).plan().blocked,
        expected
    );
    // Another admin first: nothing is blocked.
    assert!(
        store()
            .want(want("reader-1").admin(true))
            .want(want("staff-1").admin(false))
            .plan()
            .blocked
            .is_empty()
    );
}

/// JSON names users as the files do: a user found by email by its email, never by an internal
/// key, and it lists which users were matched that way.
#[test]
fn json_plans_name_users_as_the_files_do() {
    let plan = Scenario::publica()
        .unmanaged(Unmanaged::Deactivate)
        .live(live("email:old@x.org").attribute("email", "old@x.org"))
        .plan();
    let target = TargetInfo {
        provider: Provider::PublicaLa,
        url: "https://store.publica.la".into(),
    };
    let json: serde_json::Value =
        serde_json::from_str(&render::json::render(&plan, &target)).unwrap();
    assert_eq!(json["actions"][1]["op"], "deactivate");
    assert_eq!(json["actions"][1]["user"], "old@x.org");
    assert_eq!(json["matched_by_email"], serde_json::json!([]));
}

/// Deactivating a Publica.la reader logs it out too, and the plan shows it, unless the file says
/// `force_logout: false`.
#[test]
fn a_publica_deactivation_shows_the_logout_it_brings() {
    let store = |want_user: scenario::WantBuilder| {
        Scenario::publica()
            .live(live("staff-1").attribute("admin", "true"))
            .live(live("reader-1").attribute("email", "r@x.org"))
            .want(want("staff-1").admin(true))
            .want(want_user)
            .plan()
    };
    let plan = store(want("reader-1").deactivated());
    let target = TargetInfo {
        provider: Provider::PublicaLa,
        url: "https://store.publica.la".into(),
    };
    insta::assert_snapshot!(render::human::render(&plan, &target, false), @r#"
rollcall will perform the following actions on publica-la https://store.publica.la:

  # user "reader-1" will be logged out and deactivated
  - user "reader-1" {
      - sessions = "open"
      - state    = "active"
        # (1 unchanged attribute hidden)
    }

Plan: 0 to create, 0 to change, 1 to deactivate, 0 to delete (2 actions).
"#);
    let ops = |plan: &rollcall::plan::Plan| {
        plan.actions
            .iter()
            .map(|a| (a.op, a.depends_on.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ops(&plan),
        [(Op::EndSessions, vec![]), (Op::Deactivate, vec![0])],
        "the logout goes first"
    );
    let kept = store(want("reader-1").deactivated().force_logout(false));
    assert_eq!(ops(&kept), [(Op::Deactivate, vec![])]);
}

/// Bulk onboarding is one commit: a 5,000-user plan's Markdown fits in a GitHub comment, keeps
/// every removal, and says how much of the full plan it left to the saved plan.
#[test]
fn a_bulk_plan_fits_in_one_comment_and_keeps_its_removals() {
    let mut scenario = Scenario::piwik().unmanaged(Unmanaged::Delete);
    for n in 0..5000 {
        scenario = scenario.want(want(&format!("new.person.{n:04}@acme.org")).language("en-US"));
    }
    for n in 0..40 {
        scenario = scenario.live(
            live(&format!("leaver.{n:02}@acme.org"))
                .id(&format!("id-{n}"))
                .roles(&["user"]),
        );
    }
    let plan = scenario.plan();
    let target = TargetInfo {
        provider: Provider::PiwikPro,
        url: "https://acme.piwik.pro".into(),
    };
    let text = render::markdown::render(&plan, &target, Some("sha256:abc"));
    assert!(text.len() <= 65_536, "{} bytes", text.len());
    for n in 0..40 {
        assert!(
            text.contains(&format!(
                "- **delete** `leaver.{n:02}@acme.org`: in no file"
            )),
            "leaver {n}"
        );
    }
    let shown = text.matches("will be invited").count();
    assert!(shown > 100, "{shown} invites shown");
    let more = 5040 - shown;
    let thousands = format!("{},{:03}", more / 1000, more % 1000);
    assert!(
        text.contains(&format!(
            "… {thousands} more changes: see the saved plan artifact.\n"
        )),
        "{}",
        &text[text.len() - 400..]
    );
    assert!(text.ends_with("Saved plan: `sha256:abc`\n"));
    assert!(text.contains("<details><summary>Full plan (5040 users)</summary>"));
    // A smaller limit holds too.
    let small = render::markdown::render_within(&plan, &target, None, 4096);
    assert!(small.len() <= 4096, "{} bytes", small.len());
    assert!(small.contains("- … and "), "removals are counted where cut");
}

/// Without `max_removals`, a run removes at most 10 % of the live users and never fewer than 5:
/// a forgotten file under `unmanaged: delete` cannot empty an account.
#[test]
fn removals_are_capped_by_default() {
    let account = |n: usize| {
        LiveState::new(
            (0..n)
                .map(|i| live_user(i, &format!("u{i:03}@acme.org"), "user", "en-US"))
                .collect(),
            None,
        )
    };
    let leaving = |n: usize| {
        desired(
            (0..n)
                .map(|i| desired_user(&format!("u{i:03}@acme.org"), State::Absent, None, None))
                .collect(),
            Unmanaged::Ignore,
        )
    };
    let blocked = |want: &DesiredState, live: &LiveState| {
        plan(want, live, &PlanOptions::default())
            .blocked
            .iter()
            .map(|b| (b.message.clone(), b.hint.clone().unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    assert_eq!(blocked(&leaving(5), &account(8)), [], "the floor of 5");
    assert_eq!(
        blocked(&leaving(6), &account(8)),
        [(
            "the plan removes 6 users; the default cap (10 % of live users, at least 5) allows at most 5".to_string(),
            "check the removals, then run again with `--allow-removals 6`: this run may then remove up to 6 users in total".to_string()
        )]
    );
    assert_eq!(blocked(&leaving(10), &account(100)), [], "10 % of 100");
    // A file forgotten under `unmanaged: delete`: everyone but the file's one user.
    let mut forgotten = desired(
        vec![desired_user(
            "u000@acme.org",
            State::Active,
            None,
            Some("user"),
        )],
        Unmanaged::Delete,
    );
    forgotten.policy.max_removals = None;
    let (message, _) = &blocked(&forgotten, &account(100))[0];
    assert_eq!(
        message,
        "the plan removes 99 users; the default cap (10 % of live users, at least 5) allows at most 10"
    );
    let options = PlanOptions {
        allow_removals: Some(20),
        ..PlanOptions::default()
    };
    assert_eq!(
        plan(&forgotten, &account(100), &options).blocked[0].message,
        "the plan removes 99 users; `--allow-removals 20` allows at most 20"
    );
}

/// `policy.min_admins` keeps that many active owners; an account already below it is never
/// brought lower, and the default of 1 is the last-owner rule.
#[test]
fn min_admins_keeps_that_many_owners() {
    let live = LiveState::new(
        (0..4)
            .map(|i| {
                let role = if i < 3 { "owner" } else { "user" };
                live_user(i, &format!("u{i}@acme.org"), role, "en-US")
            })
            .collect(),
        None,
    );
    let demoting = |n: usize, min: u32| {
        let users = (0..4)
            .map(|i| {
                let role = if i < 3 - n { "owner" } else { "user" };
                desired_user(&format!("u{i}@acme.org"), State::Active, None, Some(role))
            })
            .collect();
        let mut want = desired(users, Unmanaged::Ignore);
        want.policy.min_admins = min;
        plan(&want, &live, &PlanOptions::default())
            .blocked
            .iter()
            .map(|b| b.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(demoting(1, 2), Vec::<String>::new());
    assert_eq!(
        demoting(2, 2),
        [
            "the plan would leave Piwik PRO with 1 active `owner` of 3; `policy.min_admins` keeps at least 2"
        ]
    );
    assert_eq!(demoting(2, 1), Vec::<String>::new());
    assert_eq!(
        demoting(3, 1),
        ["the plan would leave Piwik PRO with no `owner`"]
    );
    // Already below: 3 owners and a minimum of 5; keeping all 3 is allowed, losing one is not.
    assert_eq!(demoting(0, 5), Vec::<String>::new());
    assert_eq!(demoting(1, 5).len(), 1);
}

/// The last admin is kept on Publica.la too when the store hides external ids, so the admin
/// is found by email under the files' key.
#[test]
fn the_last_admin_found_by_email_is_kept() {
    let store = Scenario::publica().live(
        live("email:boss@x.org")
            .id("7")
            .attribute("email", "boss@x.org")
            .attribute("admin", "true"),
    );
    let blocked = |plan: Plan| {
        plan.blocked
            .iter()
            .map(|b| b.message.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        blocked(
            store
                .want(want("boss-1").email("boss@x.org").admin(false))
                .plan()
        ),
        ["the plan would leave Publica.la with no `admin`"]
    );
}

/// The Markdown marker cannot be ended or broken by the URL it names.
#[test]
fn the_markdown_marker_holds_whatever_the_url() {
    let target = TargetInfo {
        provider: Provider::PiwikPro,
        url: "https://acme.piwik.pro/a-->b\n<i>--->".into(),
    };
    let marker = render::markdown::marker(&target);
    assert_eq!(
        marker,
        "<!-- rollcall-plan piwik-pro https://acme.piwik.pro/a-%2D%3Eb%0A<i%3E-%2D-%3E -->"
    );
    assert_eq!(marker.matches("-->").count(), 1);
}

/// A comment stays within its limit whatever the names hold: a run of backticks that makes the
/// code fence long, and many guards.
#[test]
fn a_comment_stays_within_its_limit_whatever_the_names() {
    let ticks = "`".repeat(2000);
    let mut scenario = Scenario::piwik();
    for n in 0..5 {
        scenario = scenario.want(want(&format!("a{n}{ticks}@acme.org")).language("en-US"));
    }
    let plan = scenario.plan();
    let target = TargetInfo {
        provider: Provider::PiwikPro,
        url: "https://acme.piwik.pro".into(),
    };
    let text = render::markdown::render_within(&plan, &target, Some("sha256:abc"), 4096);
    assert!(text.len() <= 4096, "{} bytes", text.len());
    assert!(
        text.contains("more changes: see the saved plan artifact"),
        "{text}"
    );
}
