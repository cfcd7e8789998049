//! Finding users and roles, and the checks writes need.

use super::*;

impl Inner {
    pub(super) fn is_admin(&self, caller: u64) -> bool {
        self.data
            .users
            .iter()
            .any(|u| u.id == caller && !u.deleted && u.roles.contains(&ADMIN_ROLE))
    }

    /// The caller's best (lowest) role priority.
    pub(super) fn best_priority(&self, caller: u64) -> u32 {
        let Some(user) = self.data.users.iter().find(|u| u.id == caller) else {
            return u32::MAX;
        };
        self.data
            .roles
            .iter()
            .filter(|r| user.roles.contains(&r.id))
            .map(|r| r.priority)
            .min()
            .unwrap_or(u32::MAX)
    }

    /// A user by id or `uname`: one in place, or with `trashed` one in the trash (by id only).
    pub(super) fn user_index(&self, key: &str, trashed: bool) -> Result<usize, Failure> {
        let found = match key.parse::<u64>() {
            Ok(id) => self.data.users.iter().position(|u| u.id == id),
            Err(_) if !trashed => {
                let unames = self.unames();
                self.data.users.iter().position(|u| unames.of(u) == key)
            }
            Err(_) => None,
        };
        found
            .filter(|i| self.data.users[*i].deleted == trashed)
            .ok_or_else(|| not_found(if trashed { "objects" } else { "users" }))
    }

    /// A role by id or name.
    pub(super) fn role_index(&self, key: &str) -> Result<usize, Failure> {
        match key.parse::<u64>() {
            Ok(id) => self.data.roles.iter().position(|r| r.id == id),
            Err(_) => self
                .data
                .roles
                .iter()
                .position(|r| same_text(Some(&r.name), key)),
        }
        .ok_or_else(|| not_found("roles"))
    }

    pub(super) fn user_matches(&self, user: &User, filter: &str, value: &str) -> bool {
        match filter {
            "query" => {
                let needle = value.to_lowercase();
                [
                    Some(user.username.as_str()),
                    Some(title(user).as_str()),
                    user.name.as_deref(),
                    user.surname.as_deref(),
                    user.email.as_deref(),
                ]
                .into_iter()
                .flatten()
                .any(|text| text.to_lowercase().contains(&needle))
            }
            "id" => value
                .split(',')
                .any(|id| id.trim().parse::<u64>() == Ok(user.id)),
            "username" => same_text(Some(&user.username), value),
            "email" => same_text(user.email.as_deref(), value),
            "status" => value.split(',').any(|s| s.trim() == user.status),
            "roles" => value.split(',').map(str::trim).any(|wanted| {
                self.data.roles.iter().any(|r| {
                    (r.id.to_string() == wanted || same_text(Some(&r.name), wanted))
                        && user.roles.contains(&r.id)
                })
            }),
            "name" => same_text(user.name.as_deref(), value),
            "surname" => same_text(user.surname.as_deref(), value),
            "lang" => same_text(user.lang.as_deref(), value),
            "uname" => self.unames().of(user) == value,
            _ => false,
        }
    }

    /// The roles a user holds, by id.
    pub(super) fn roles_of(&self, user: &User) -> Vec<&Role> {
        let mut roles: Vec<&Role> = self
            .data
            .roles
            .iter()
            .filter(|r| user.roles.contains(&r.id))
            .collect();
        roles.sort_by_key(|r| r.id);
        roles
    }
}
