//! The trash: listing, restoring and purging deleted users.

use super::*;

impl Inner {
    pub(super) fn list_trash(&self, call: &Call) -> Result<Reply, Failure> {
        let query = ListQuery::parse(call.request, &["type"], TRASH_SORTS, &[])?;
        let mut users: Vec<&User> = self
            .data
            .users
            .iter()
            .filter(|u| u.deleted)
            .filter(|u| {
                query
                    .filters
                    .iter()
                    .all(|(filter, value)| match filter.as_str() {
                        "type" => value.split(',').any(|t| t.trim() == "users"),
                        _ => self.user_matches(u, filter, value),
                    })
            })
            .collect();
        sort_by_key(&mut users, query.sort.as_ref(), |u| u.id, user_key);
        let (users, links, pagination) = paginate(call, users, query.paging)?;
        let unames = self.unames();
        let data: Vec<Value> = users
            .iter()
            .map(|u| self.user_resource(call, unames, u, false))
            .collect();
        Ok(call.reply(
            StatusCode::OK,
            &json!({
                "data": data,
                "links": links,
                "meta": { "pagination": pagination, "schema": call.schema(&["users"]) },
            }),
        ))
    }

    pub(super) fn get_trashed(&self, call: &Call, key: &str) -> Result<Reply, Failure> {
        ListQuery::parse(call.request, &[], &[], &[])?;
        let index = self.user_index(key, true)?;
        let body = self.single_user(call, &self.data.users[index], false);
        Ok(call.reply(StatusCode::OK, &body))
    }

    pub(super) fn restore(&mut self, call: &Call, key: &str) -> Result<Reply, Failure> {
        let index = self.user_index(key, true)?;
        let document = document(call.request)?;
        let data = resource_object(&document, "users")?;
        check_id(data, key, self.data.users[index].id)?;
        let user = &mut self.data.users[index];
        user.deleted = false;
        user.modified = now();
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }

    pub(super) fn purge(&mut self, key: &str) -> Result<Reply, Failure> {
        let index = self.user_index(key, true)?;
        let id = self.data.users.remove(index).id;
        self.renew.retain(|_, user| *user != Some(id));
        Ok(Reply::empty(StatusCode::NO_CONTENT).committed())
    }
}
