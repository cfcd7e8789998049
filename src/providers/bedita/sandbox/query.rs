//! Lists: paging, filters, sorting, includes, and the `uname`s users are listed with.

use super::*;

/// A list's page.
#[derive(Debug, Clone, Copy)]
pub(super) struct Paging {
    pub(super) page: usize,
    pub(super) size: usize,
}

/// A list's query: paging, filters, sort and includes, each checked against what the list knows.
pub(super) struct ListQuery {
    pub(super) paging: Paging,
    /// Filter name (`q` as `query`) and value.
    pub(super) filters: Vec<(String, String)>,
    /// Field and whether descending.
    pub(super) sort: Option<(String, bool)>,
    pub(super) include: Vec<String>,
}

impl ListQuery {
    pub(super) fn parse(
        request: &Request,
        filters: &[&str],
        sorts: &[&str],
        includes: &[&str],
    ) -> Result<Self, Failure> {
        let number = |name: &str, default: usize| -> Result<usize, Failure> {
            match request.query(name) {
                None => Ok(default),
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| {
                        invalid(format!(
                            "\"{name}\" must be a positive integer, \"{text}\" given"
                        ))
                    }),
            }
        };
        let paging = Paging {
            page: number("page", 1)?,
            size: number("page_size", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE),
        };
        let mut found = Vec::new();
        for (key, value) in &request.query {
            let name = if key == "q" {
                "query"
            } else if let Some(name) = key
                .strip_prefix("filter[")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                name
            } else {
                continue;
            };
            if name != "query" && !filters.contains(&name) {
                return Err(invalid(format!("filter \"{name}\" was not found")));
            }
            found.push((name.to_string(), value.clone()));
        }
        let sort = match request.query("sort") {
            None => None,
            Some(text) => {
                let (descending, field) = text
                    .strip_prefix('-')
                    .map_or((false, text), |field| (true, field));
                if !sorts.contains(&field) {
                    return Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        "Unsupported sorting field",
                    ));
                }
                Some((field.to_string(), descending))
            }
        };
        let mut include = Vec::new();
        for name in request
            .query("include")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            if !includes.contains(&name) {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "Invalid \"include\" query parameter (Relationship \"{name}\" does not exist)"
                    ),
                ));
            }
            include.push(name.to_string());
        }
        Ok(ListQuery {
            paging,
            filters: found,
            sort,
            include,
        })
    }

    pub(super) fn includes(&self, name: &str) -> bool {
        self.include.iter().any(|n| n == name)
    }
}

/// Cuts one page out of `items`; also returns the list's `links` and `meta.pagination`.
pub(super) fn paginate<T>(
    call: &Call,
    items: Vec<T>,
    mut paging: Paging,
) -> Result<(Vec<T>, Value, Value), Failure> {
    if let Some(cap) = call.page_cap {
        paging.size = paging.size.min(cap);
    }
    let count = items.len();
    let page_count = count.div_ceil(paging.size).max(1);
    if paging.page > page_count {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            format!("Page number {} could not be found.", paging.page),
        )
        .detail(format!("the last page is {page_count}")));
    }
    let items: Vec<T> = items
        .into_iter()
        .skip((paging.page - 1) * paging.size)
        .take(paging.size)
        .collect();
    let links = json!({
        "self": call.self_url(),
        "home": call.home(),
        "first": call.page_url(1),
        "last": call.page_url(page_count),
        "prev": (paging.page > 1).then(|| call.page_url(paging.page - 1)),
        "next": (paging.page < page_count).then(|| call.page_url(paging.page + 1)),
    });
    let pagination = json!({
        "count": count,
        "page": paging.page,
        "page_count": page_count,
        "page_items": items.len(),
        "page_size": paging.size,
    });
    Ok((items, links, pagination))
}

/// A sort key: numbers, or text compared without regard to case (missing text first).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SortKey {
    Number(u64),
    Text(String),
}

pub(super) fn text_key(text: Option<&str>) -> SortKey {
    SortKey::Text(text.unwrap_or_default().to_lowercase())
}

/// Sorts by `key` in the requested direction, ties by id.
pub(super) fn sort_by_key<T>(
    items: &mut [&T],
    sort: Option<&(String, bool)>,
    id: impl Fn(&T) -> u64,
    key: impl Fn(&T, &str) -> SortKey,
) {
    let Some((field, descending)) = sort else {
        items.sort_by_key(|item| id(item));
        return;
    };
    items.sort_by(|a, b| {
        let order = key(a, field).cmp(&key(b, field));
        let order = if *descending { order.reverse() } else { order };
        order.then(id(a).cmp(&id(b)))
    });
}

/// Unique `uname`s derived from usernames.
pub(super) struct Unames(pub(super) HashMap<String, u64>);

impl Unames {
    pub(super) fn new(users: &[User]) -> Self {
        let mut taken: HashMap<String, u64> = HashMap::new();
        for user in users {
            let slug = Self::slug(user);
            let holder = taken.entry(slug).or_insert(user.id);
            *holder = (*holder).min(user.id);
        }
        Unames(taken)
    }

    /// The username in lower case with every run of other characters made one `-`; `user-<id>`
    /// when that is empty or only digits, since a `uname` may not be a number.
    pub(super) fn slug(user: &User) -> String {
        let mut slug = String::new();
        for c in user.username.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-').to_string();
        if slug.bytes().all(|b| b.is_ascii_digit()) {
            format!("user-{}", user.id)
        } else {
            slug
        }
    }

    pub(super) fn of(&self, user: &User) -> String {
        let slug = Self::slug(user);
        if self.0.get(&slug).is_none_or(|holder| *holder == user.id) {
            slug
        } else {
            format!("{slug}-{}", user.id)
        }
    }
}
