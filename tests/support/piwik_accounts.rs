//! Large Piwik PRO sandbox accounts, for benchmarks.

use rollcall::providers::piwik::sandbox::{Client, Data, User};

/// The API client benchmarks sign in with, and its secret.
pub const CLIENT: (&str, &str) = ("bench", "bench-secret");

/// An account of `n` users, `person000001@bench.example` on, each a `USER` with `en-US`, and
/// the API client's own owner, `api@bench.example`.
pub fn account(n: usize) -> Data {
    let mut data = Data {
        organization: "bench".into(),
        clients: vec![Client {
            client_id: CLIENT.0.into(),
            client_secret: CLIENT.1.into(),
            user: "api@bench.example".into(),
        }],
        users: Vec::with_capacity(n + 1),
        ..Default::default()
    };
    let user = |i: usize, email: String, role: &str| User {
        id: uuid::Uuid::from_u128(0xbe4c_0000_0000_4000_8000_0000_0000_0000 + i as u128)
            .to_string(),
        email,
        role: role.into(),
        language: "en-US".into(),
        added_at: "2024-01-01T00:00:00+00:00".into(),
    };
    data.users
        .push(user(0, "api@bench.example".into(), "OWNER"));
    for i in 1..=n {
        data.users
            .push(user(i, format!("person{i:06}@bench.example"), "USER"));
    }
    data
}

/// A bearer token for [`CLIENT`], asked for as plainly as a script would.
pub async fn token(client: &reqwest::Client, url: &str) -> String {
    let answer: serde_json::Value = client
        .post(format!("{url}/auth/token"))
        .json(&serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": CLIENT.0,
            "client_secret": CLIENT.1,
        }))
        .send()
        .await
        .expect("a token")
        .json()
        .await
        .expect("a token body");
    answer["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}
