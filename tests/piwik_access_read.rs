//! Reading Piwik PRO access (apps, meta sites, groups, members, permissions) from the sandbox over
//! HTTP, under every reading of `apis.md` §7 that changes what the lists show.

mod common;

use std::sync::Arc;

use rollcall::model::access::{Entity, LiveAccess, Permission};
use rollcall::providers::connect::sandbox_secret;
use rollcall::providers::http::{Http, RetryPolicy};
use rollcall::providers::piwik::sandbox::{Data, Options, SEED_CLIENT, Sandbox, User};
use rollcall::providers::piwik::{Piwik, Reach};
use rollcall::providers::sandbox::Faults;

fn id(n: u128) -> String {
    uuid::Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 + n).to_string()
}

async fn read(data: Data, variants: &[&str], reach: &Reach<'_>) -> Result<LiveAccess, String> {
    let mut options = Options::default();
    for variant in variants {
        assert!(options.variant(variant), "{variant}");
    }
    let served = common::serve(Sandbox::new(data, options), Faults::default()).await;
    rollcall::providers::http::init_tls();
    let http = Http::new(&served.url, RetryPolicy::default(), None).expect("a client");
    let client = Arc::new(Piwik::new(
        &served.url,
        sandbox_secret("PIWIK_CLIENT_ID", SEED_CLIENT.0),
        sandbox_secret("PIWIK_CLIENT_SECRET", SEED_CLIENT.1),
        http,
    ));
    client.read_access(reach).await.map_err(|e| e.to_string())
}

/// The access as lines a person can read: `app Acme shop: user <id> manage`, ...
fn lines(access: &LiveAccess) -> Vec<String> {
    let name = |entity: Entity, on: &str| {
        let list = match entity {
            Entity::App => &access.apps,
            Entity::MetaSite => &access.meta_sites,
        };
        list.iter()
            .find(|n| n.id == on)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    };
    let mut out: Vec<String> = access
        .grants
        .iter()
        .map(|g| {
            format!(
                "{} {} {}: {:?} {} {}",
                g.entity.noun(),
                name(g.entity, &g.on),
                &g.on[g.on.len() - 3..],
                g.principal,
                &g.to[g.to.len() - 3..],
                g.permission
            )
        })
        .collect();
    for group in &access.groups {
        let members: Vec<&str> = group
            .members
            .iter()
            .flatten()
            .map(|m| &m[m.len() - 3..])
            .collect();
        out.push(format!("group {}: {members:?}", group.name));
    }
    out
}

const SEED_ACCESS: [&str; 6] = [
    "app Acme shop 101: User 002 manage",
    "app Acme shop 101: Group 301 edit",
    "app Acme blog 102: User 005 view",
    "meta site All Acme sites 201: Group 302 view",
    "group Analysts: [\"004\"]",
    "group Marketing: [\"002\", \"003\"]",
];

#[tokio::test]
async fn every_reading_of_the_lists_reads_the_same_access() {
    for variants in [
        &[][..],
        &["no-access-listed"],
        &["group-permissions-null"],
        &["group-permissions-empty-list"],
        &["no-access-listed", "group-permissions-null", "page-cap=1"],
    ] {
        let access = read(Data::seed(), variants, &Reach::EVERYTHING)
            .await
            .unwrap();
        assert_eq!(lines(&access), SEED_ACCESS, "{variants:?}");
        assert_eq!(access.apps.len(), 3);
        assert_eq!(access.grants_read.len(), 4, "{variants:?}");
        assert_eq!(
            access.effective(Entity::App, &id(0x101), &id(3)),
            Some(Permission::Edit),
            "bob's edit comes from Marketing"
        );
    }
}

#[tokio::test]
async fn lists_of_more_than_a_page_are_read_whole() {
    let mut data = Data::seed();
    for n in 0..2500u128 {
        data.users.push(User {
            id: id(0x10_000 + n),
            email: format!("reader{n:04}@acme.org"),
            role: "USER".into(),
            language: "en-US".into(),
            added_at: "2024-03-01T00:00:00+00:00".into(),
        });
    }
    let access = read(data, &["no-access-listed"], &Reach::EVERYTHING)
        .await
        .unwrap();
    assert_eq!(lines(&access), SEED_ACCESS);
}

#[tokio::test]
async fn only_what_is_reached_is_read_and_the_rest_stays_unknown() {
    let reach = Reach {
        grants: &|entity, named| entity == Entity::App && named.name == "Acme shop",
        members: &|name| name == "Marketing",
    };
    let access = read(Data::seed(), &[], &reach).await.unwrap();
    assert_eq!(
        lines(&access),
        [
            "app Acme shop 101: User 002 manage",
            "app Acme shop 101: Group 301 edit",
            "group Analysts: []",
            "group Marketing: [\"002\", \"003\"]",
        ]
    );
    assert_eq!(
        access.groups[0].members, None,
        "Analysts' members were not read"
    );
    assert_eq!(
        access.direct(
            Entity::App,
            &id(0x102),
            rollcall::model::access::Principal::User,
            &id(5)
        ),
        None
    );
    assert_eq!(access.effective(Entity::MetaSite, &id(0x201), &id(4)), None);
}

#[tokio::test]
async fn a_permission_outside_the_apis_values_fails_the_read() {
    let mut data = Data::seed();
    data.grants
        .push(rollcall::providers::piwik::sandbox::Grant {
            entity: rollcall::providers::piwik::sandbox::Entity::MetaSite,
            on: id(0x201),
            principal: rollcall::providers::piwik::sandbox::Principal::User,
            to: id(5),
            permission: rollcall::providers::piwik::sandbox::Permission::EditPublish,
        });
    let err = read(data, &[], &Reach::EVERYTHING).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "Piwik PRO answered the permission `edit-publish` for `{}` on a meta site, which is none of the meta site's values",
            id(5)
        )
    );
}
