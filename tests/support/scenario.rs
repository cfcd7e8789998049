//! A fluent way to state a planner case: the provider, the live account, the files, and plan.
//!
//! ```ignore
//! let plan = Scenario::bedita()
//!     .roles(&["admin", "editor"])
//!     .live(live("kai").deactivated().roles(&["editor", "legacy"]))
//!     .want(want("kai").deactivated().roles(&["editor"]))
//!     .plan();
//! ```
#![allow(dead_code)]

use rollcall::diagnostic::{Origin, SourceId};
use rollcall::model::vocab::{Email, LanguageTag, Provider, State, TargetUrl, Unmanaged};
use rollcall::model::{
    Attributes, Credentials, DesiredRole, DesiredState, DesiredUser, LiveRole, LiveState, LiveUser,
    Names, Policy, Target,
};
use rollcall::plan::{Plan, PlanOptions, plan};

pub fn origin() -> Origin {
    Origin {
        source: SourceId(0),
        span: Default::default(),
    }
}

/// A live user, by natural key.
pub fn live(key: &str) -> LiveBuilder {
    LiveBuilder(LiveUser {
        id: format!("id-{key}"),
        key: key.to_lowercase(),
        spelling: Some(key.to_string()),
        blocked: false,
        email: None,
        state: State::Active,
        attributes: Attributes::default(),
        roles: Names::default(),
    })
}

/// A user as the files want it, by natural key.
pub fn want(key: &str) -> WantBuilder {
    let mut user = DesiredUser::new(key.to_lowercase(), origin());
    user.email = Email::parse(key).ok();
    WantBuilder(user)
}

pub struct LiveBuilder(LiveUser);

impl LiveBuilder {
    pub fn id(mut self, id: &str) -> Self {
        self.0.id = id.into();
        self
    }

    pub fn deactivated(mut self) -> Self {
        self.0.state = State::Deactivated;
        self
    }

    pub fn blocked(mut self) -> Self {
        self.0.blocked = true;
        self.0.state = State::Deactivated;
        self
    }

    pub fn roles(mut self, roles: &[&str]) -> Self {
        self.0.roles = roles.iter().map(|r| r.to_string()).collect();
        self
    }

    /// An attribute as the provider lists it; an email is the user's email too, as the
    /// clients that list it as an attribute set it.
    pub fn attribute(mut self, name: &'static str, value: &str) -> Self {
        if name == "email" {
            self.0.email = Some(value.into());
        }
        self.0.attributes.insert(name, value.into());
        self
    }
}

pub struct WantBuilder(DesiredUser);

impl WantBuilder {
    /// The user's state; an absent one is written at `team.yaml:7`, as removal reasons show.
    pub fn state(mut self, state: State) -> Self {
        self.0.state = state;
        self.0.state_origin = (state == State::Absent).then(|| Origin {
            source: SourceId(0),
            span: rollcall::yaml::Span {
                line: 7,
                ..Default::default()
            },
        });
        self
    }

    pub fn build(self) -> DesiredUser {
        self.0
    }

    pub fn deactivated(mut self) -> Self {
        self.0.state = State::Deactivated;
        self
    }

    pub fn roles(mut self, roles: &[&str]) -> Self {
        self.0.roles = Some(roles.iter().map(|r| r.to_string()).collect());
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.0.details_mut().name = Some(name.into());
        self
    }

    pub fn force_logout(mut self, logout: bool) -> Self {
        self.0.details_mut().force_logout = Some(logout);
        self
    }

    pub fn admin(mut self, admin: bool) -> Self {
        self.0.details_mut().admin = Some(admin);
        self
    }

    pub fn language(mut self, tag: &str) -> Self {
        self.0.language = LanguageTag::parse(tag);
        self
    }

    pub fn email(mut self, email: &str) -> Self {
        self.0.email = Email::parse(email).ok();
        self
    }
}

/// One planner case.
pub struct Scenario {
    provider: Provider,
    live: Vec<LiveUser>,
    roles: Option<Vec<String>>,
    own: Option<String>,
    want: Vec<DesiredUser>,
    unmanaged: Unmanaged,
}

impl Scenario {
    fn new(provider: Provider) -> Self {
        Scenario {
            provider,
            live: Vec::new(),
            roles: None,
            own: None,
            want: Vec::new(),
            unmanaged: Unmanaged::Ignore,
        }
    }

    pub fn piwik() -> Self {
        Scenario::new(Provider::PiwikPro)
    }

    pub fn publica() -> Self {
        Scenario::new(Provider::PublicaLa)
    }

    pub fn bedita() -> Self {
        Scenario::new(Provider::Bedita)
    }

    /// Roles the project has and the files declare (BEdita); `admin` is role 1.
    pub fn roles(mut self, names: &[&str]) -> Self {
        self.roles = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    pub fn live(mut self, user: LiveBuilder) -> Self {
        self.live.push(user.0);
        self
    }

    pub fn want(mut self, user: WantBuilder) -> Self {
        let mut user = user.0;
        if self.provider == Provider::PublicaLa {
            user.details_mut().external_id = Some(user.key.clone());
        }
        if self.provider == Provider::Bedita {
            user.details_mut().username = Some(user.key.clone());
            user.email = None;
        }
        self.want.push(user);
        self
    }

    /// The live user rollcall signs in as.
    pub fn signed_in_as(mut self, key: &str) -> Self {
        self.own = Some(key.into());
        self
    }

    pub fn unmanaged(mut self, policy: Unmanaged) -> Self {
        self.unmanaged = policy;
        self
    }

    pub fn plan(&self) -> Plan {
        let mut live = LiveState::new(self.live.clone(), self.own.clone());
        let mut users = self.want.clone();
        users.sort_by(|a, b| a.key.cmp(&b.key));
        let mut desired = DesiredState {
            target: Target {
                provider: self.provider,
                url: TargetUrl::Sandbox,
                credentials: Credentials::default(),
                origin: origin(),
            },
            policy: Policy {
                unmanaged: self.unmanaged,
                ..Policy::default()
            },
            users,
            roles: Vec::new(),
            plans: Vec::new(),
            files: 1,
            digests: Vec::new(),
            paths: vec!["team.yaml".into()],
            groups: Vec::new(),
        };
        if let Some(names) = &self.roles {
            live.roles = Some(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, name)| LiveRole {
                        id: (i + 1).to_string(),
                        name: name.clone(),
                        description: None,
                        builtin: i == 0,
                    })
                    .collect(),
            );
            desired.roles = names
                .iter()
                .map(|name| DesiredRole {
                    name: name.clone(),
                    description: None,
                    origin: origin(),
                })
                .collect();
        }
        plan(&desired, &live, &PlanOptions::default())
    }
}
