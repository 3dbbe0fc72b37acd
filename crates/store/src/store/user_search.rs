//! A page of a tenant's users for a search ([`UserQuery`]): the filter becomes one `WHERE`
//! clause with bound values, written for SQLite's `json_extract` or PostgreSQL's `->>`; pages
//! come in an indexed order; an unfiltered total is the trigger-kept count in `user_counts`.

use tessera_core::model::{Match, SortKey, UserField, UserFilter, UserPage, UserQuery};

use super::*;
use crate::sql::Value;

/// Builds SQL for one backend, collecting the values to bind (`$1` is the tenant).
struct Sql {
    pg: bool,
    args: Vec<Value>,
}

impl Sql {
    fn bind(&mut self, v: String) -> String {
        self.args.push(Value::Text(Some(v)));
        format!("${}", self.args.len())
    }

    /// A text field of the user's document.
    fn doc(&self, key: &str) -> String {
        if self.pg {
            format!("(data::jsonb ->> '{key}')")
        } else {
            format!("json_extract(data, '$.{key}')")
        }
    }

    fn meta(&mut self, object: &str, key: &str) -> String {
        if self.pg {
            let k = self.bind(key.to_owned());
            format!("(data::jsonb -> '{object}' ->> {k})")
        } else {
            let path = self.bind(format!("$.{object}.\"{key}\""));
            format!("CAST(json_extract(data, {path}) AS TEXT)")
        }
    }

    fn filter(&mut self, f: &UserFilter) -> String {
        match f {
            UserFilter::All(v) => self.join(v, " AND "),
            UserFilter::Any(v) => self.join(v, " OR "),
            UserFilter::Term(field, m) => self.term(field, m),
        }
    }

    fn join(&mut self, v: &[UserFilter], op: &str) -> String {
        let parts: Vec<String> = v.iter().map(|f| self.filter(f)).collect();
        format!("({})", parts.join(op))
    }

    fn term(&mut self, field: &UserField, m: &Match) -> String {
        if let Match::Flag(b) = m {
            let col = self.doc(field.document_key().unwrap_or("blocked"));
            return match (self.pg, b) {
                (true, b) => format!("COALESCE({col}, 'false') = '{b}'"),
                (false, true) => format!("COALESCE({col}, 0) = 1"),
                (false, false) => format!("COALESCE({col}, 0) = 0"),
            };
        }
        let value = m.value_for(field).unwrap_or_default();
        let col = match field {
            UserField::Email => "email".to_owned(),
            UserField::UserId => "user_id".to_owned(),
            UserField::AppMetadata(k) => self.meta("app_metadata", k),
            UserField::UserMetadata(k) => self.meta("user_metadata", k),
            other => self.doc(other.document_key().unwrap_or("name")),
        };
        match m {
            // Exact: the email and user id columns are indexed per tenant.
            Match::Is(_) => {
                let v = self.bind(value);
                format!("{col} = {v}")
            }
            // Byte-exact on both backends (LIKE folds case on SQLite, not on PostgreSQL).
            _ => {
                let v = self.bind(value);
                format!("substr({col}, 1, length({v})) = {v}")
            }
        }
    }
}

impl SqlStore {
    pub(super) async fn search_users_sql(
        &self,
        tenant: &str,
        q: &UserQuery,
    ) -> StoreResult<UserPage> {
        if has_nul(&[Text(tenant)]) {
            return Ok(UserPage {
                users: Vec::new(),
                total: q.total.then_some(0),
            });
        }
        let mut sql = Sql {
            pg: self.is_postgres(),
            args: vec![Value::Text(Some(tenant.to_owned()))],
        };
        let filter = q.filter.as_ref().map(|f| sql.filter(f));
        let filter_args = sql.args.len();
        let clause = filter
            .as_deref()
            .map(|f| format!(" AND {f}"))
            .unwrap_or_default();
        let dir = if q.sort.descending { "DESC" } else { "ASC" };
        let order = match q.sort.by {
            SortKey::Created => format!("rowid {dir}"),
            SortKey::Email => format!("email {dir}, rowid {dir}"),
            SortKey::UserId => format!("user_id {dir}"),
        };
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        sql.args.push(Value::Int(Some(limit)));
        sql.args.push(Value::Int(Some(offset)));
        let (l, o) = (sql.args.len() - 1, sql.args.len());
        let select = format!(
            "SELECT data FROM users WHERE tenant_id = $1{clause} ORDER BY {order} LIMIT ${l} OFFSET ${o}"
        );
        let args: Vec<Arg<'_>> = sql.args.iter().map(Value::arg).collect();
        if has_nul(&args) {
            return Ok(UserPage {
                users: Vec::new(),
                total: q.total.then_some(0),
            });
        }
        let users = self.fetch_all_data("users", &select, &args).await?;
        let total = if !q.total {
            None
        } else if filter.is_none() {
            let count = "SELECT n FROM user_counts WHERE tenant_id = $1";
            let n = self
                .fetch_rows("user count", count, &args[..1], |r| r.int("n"))
                .await?;
            Some(n.first().copied().unwrap_or(0).max(0) as u64)
        } else {
            let count = format!("SELECT COUNT(*) AS n FROM users WHERE tenant_id = $1{clause}");
            let n = self
                .fetch_rows("user count", &count, &args[..filter_args], |r| r.int("n"))
                .await?;
            Some(n.first().copied().unwrap_or(0).max(0) as u64)
        };
        Ok(UserPage { users, total })
    }
}
