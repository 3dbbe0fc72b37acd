//! Users of the database connection: create, find, update, delete, block; a new password, a
//! block or a deletion ends the user's sessions and tokens.

use super::*;
use crate::model::{Role, RolePermission, SortKey, UserQuery, UserSort};
#[derive(Debug, Default)]
pub struct UserSpec {
    pub email: Option<String>,
    pub password: Option<Secret>,
    pub name: Option<String>,
    pub email_verified: Option<bool>,
    pub app_metadata: Option<String>,
    pub user_metadata: Option<String>,
    /// Merge the metadata objects into the stored ones one level deep (a `null` removes a key),
    /// as Auth0's `PATCH /users/{id}` does; otherwise they replace them.
    pub merge_metadata: bool,
}

/// Auth0's one-level merge: each key replaces the stored one, `null` deletes it.
fn merge(into: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        if v.is_null() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

fn parse_metadata(field: &'static str, json: &str) -> ManageResult<Map<String, Value>> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ManageError::field(
            field,
            "must be a JSON object, like '{\"plan\":\"pro\"}'",
        )),
        Err(e) => Err(ManageError::field(field, format!("invalid JSON: {e}"))),
    }
}

/// Validates everything cheap first, so bad input never costs a password hash.
fn apply_user_spec(u: &mut User, spec: &UserSpec) -> ManageResult<Option<String>> {
    if let Some(e) = &spec.email {
        validate::email(e.trim()).map_err(invalid)?;
        u.email = crate::model::normalize_email(e);
    }
    if let Some(n) = &spec.name {
        validate::name(n).map_err(invalid)?;
        u.name = Some(n.clone());
    }
    if let Some(v) = spec.email_verified {
        u.email_verified = v;
    }
    for (field, given, stored) in [
        ("app_metadata", &spec.app_metadata, &mut u.app_metadata),
        ("user_metadata", &spec.user_metadata, &mut u.user_metadata),
    ] {
        if let Some(m) = given {
            let patch = parse_metadata(field, m)?;
            if spec.merge_metadata {
                merge(stored, patch);
            } else {
                *stored = patch;
            }
        }
    }
    match &spec.password {
        Some(p) => {
            password::check_policy(p.expose()).map_err(invalid)?;
            Ok(Some(p.expose().to_owned()))
        }
        None => Ok(None),
    }
}

/// Finds a user by id or by email.
pub(crate) async fn find_user(
    store: &dyn Store,
    tenant: &str,
    id_or_email: &str,
) -> ManageResult<User> {
    if let Some(u) = store.user(tenant, id_or_email).await? {
        return Ok(u);
    }
    store
        .user_by_email(tenant, id_or_email)
        .await?
        .ok_or_else(|| ManageError::NotFound(format!("no user with id or email '{id_or_email}'")))
}

/// Ends a user's access: every session (so no silent sign-in), authorization code, opaque
/// access token and refresh token of the user is deleted from the database, which every node
/// reads. JWT access tokens cannot be recalled; they live out their (short) lifetime.
async fn end_user_access(
    store: &dyn Store,
    tenant: &str,
    user_id: &str,
    why: &str,
) -> ManageResult<()> {
    let n = store.delete_user_artifacts(tenant, user_id).await?;
    tracing::info!(
        user_id,
        why,
        revoked = n,
        "ended the user's sessions and tokens"
    );
    Ok(())
}

impl Manager<'_> {
    /// `hash` turns a password into its stored form; callers pass [`password::hash`], run where
    /// CPU-bound work belongs.
    pub async fn create_user(
        &self,
        spec: &UserSpec,
        hash: impl FnOnce(String) -> String,
    ) -> ManageResult<User> {
        self.actor.require(&["create:users"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        let now = clock.now();
        if spec.email.is_none() {
            return Err(ManageError::required("email"));
        }
        if spec.password.is_none() {
            return Err(ManageError::required("password"));
        }
        let mut u = User {
            tenant_id: tenant.to_owned(),
            user_id: User::new_id(),
            email: String::new(),
            email_verified: false,
            name: None,
            nickname: None,
            given_name: None,
            family_name: None,
            picture: None,
            app_metadata: Map::new(),
            user_metadata: Map::new(),
            password_hash: String::new(),
            blocked: false,
            logins_count: 0,
            last_login: None,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let pw = apply_user_spec(&mut u, spec)?.unwrap_or_default();
        if store.user_by_email(tenant, &u.email).await?.is_some() {
            return Err(ManageError::Conflict(format!(
                "a user with email {} already exists",
                u.email
            )));
        }
        u.password_hash = hash(pw);
        store.insert_user(&u).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                ManageError::Conflict(format!("a user with email {} already exists", u.email))
            }
            other => other.into(),
        })?;
        Ok(u)
    }
    pub async fn update_user(
        &self,
        id_or_email: &str,
        spec: &UserSpec,
        hash: impl FnOnce(String) -> String,
    ) -> ManageResult<User> {
        // Metadata alone may be changed with `update:users_app_metadata`.
        let metadata_only = spec.email.is_none()
            && spec.password.is_none()
            && spec.name.is_none()
            && spec.email_verified.is_none();
        if metadata_only {
            self.actor
                .require(&["update:users", "update:users_app_metadata"])?;
        } else {
            self.actor.require(&["update:users"])?;
        }
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        // The password is hashed once, before any read: a retry reuses the hash.
        let new_hash = match &spec.password {
            Some(p) => {
                password::check_policy(p.expose()).map_err(invalid)?;
                Some(hash(p.expose().to_owned()))
            }
            None => None,
        };
        let hashed = &new_hash;
        let u = retry_stale(move || async move {
            let mut u = find_user(store, tenant, id_or_email).await?;
            let old_email = u.email.clone();
            apply_user_spec(&mut u, spec)?;
            if let Some(h) = hashed {
                u.password_hash.clone_from(h);
            }
            if u.email != old_email && store.user_by_email(tenant, &u.email).await?.is_some() {
                return Err(ManageError::Conflict(format!(
                    "a user with email {} already exists",
                    u.email
                )));
            }
            u.updated_at = clock.now();
            store.update_user(&u).await?;
            u.version += 1;
            Ok((u, old_email))
        })
        .await;
        let (u, old_email) = u?;
        if new_hash.is_some() {
            // A new password lifts brute-force blocks (Auth0 does the same on a reset) and ends
            // every session and token issued under the old one.
            crate::attack::clear_user_blocks(store, tenant, &old_email).await?;
            end_user_access(store, tenant, &u.user_id, "password changed").await?;
        }
        Ok(u)
    }
    /// Deletes a user, and with it every session and token of theirs.
    pub async fn delete_user(&self, id_or_email: &str) -> ManageResult<User> {
        self.actor.require(&["delete:users"])?;
        let store = self.store;
        let tenant = self.tenant;
        let u = find_user(store, tenant, id_or_email).await?;
        store.delete_user(tenant, &u.user_id).await?;
        end_user_access(store, tenant, &u.user_id, "user deleted").await?;
        Ok(u)
    }
    /// Blocks or unblocks a user. Blocking ends the user's sessions and tokens; unblocking lifts
    /// the brute-force blocks on the user's email from every IP (`tessera users unblock`).
    pub async fn set_user_blocked(&self, id_or_email: &str, blocked: bool) -> ManageResult<User> {
        self.actor.require(&["update:users"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let mut u = find_user(store, tenant, id_or_email).await?;
            u.blocked = blocked;
            u.updated_at = clock.now();
            store.update_user(&u).await?;
            u.version += 1;
            if blocked {
                end_user_access(store, tenant, &u.user_id, "user blocked").await?;
            } else {
                crate::attack::clear_user_blocks(store, tenant, &u.email).await?;
            }
            Ok(u)
        })
        .await
    }
}

impl Manager<'_> {
    /// A user by id or email.
    pub async fn get_user(&self, id_or_email: &str) -> ManageResult<User> {
        self.actor.require(&["read:users"])?;
        find_user(self.store, self.tenant, id_or_email).await
    }

    /// A page of the users `q` matches (Auth0's search syntax, see [`parse_user_query`]; empty
    /// for all), sorted by `sort` (`created_at`, `email` or `user_id`, then `:1` or `:-1`).
    pub async fn list_users(
        &self,
        q: &str,
        sort: Option<&str>,
        page: &PageRequest,
    ) -> ManageResult<Page<User>> {
        self.actor.require(&["read:users"])?;
        let (start, limit) = page.window()?;
        let query = UserQuery {
            filter: super::parse_user_query(q)?,
            sort: parse_sort(sort)?,
            offset: start,
            // One more than the page: whether a checkpoint page has a next one.
            limit: limit + 1,
            total: page.wants_total(),
        };
        let found = self.store.search_users(self.tenant, &query).await?;
        Ok(Page::from_window(
            found.users,
            page,
            start,
            limit,
            found.total,
        ))
    }

    /// A user's roles that still exist, in assignment order.
    pub async fn user_roles(&self, id_or_email: &str) -> ManageResult<Vec<Role>> {
        self.actor.require(&["read:users", "read:roles"])?;
        let u = find_user(self.store, self.tenant, id_or_email).await?;
        Ok(crate::rbac::user_roles(self.store, &u).await?)
    }

    /// What a user's roles grant, per API.
    pub async fn user_permissions(&self, id_or_email: &str) -> ManageResult<Vec<RolePermission>> {
        self.actor.require(&["read:users"])?;
        let u = find_user(self.store, self.tenant, id_or_email).await?;
        Ok(crate::rbac::user_permissions(self.store, &u).await?)
    }
}

/// Auth0's `sort=field:1` (ascending) or `field:-1`.
fn parse_sort(sort: Option<&str>) -> ManageResult<UserSort> {
    let Some(s) = sort.filter(|s| !s.is_empty()) else {
        return Ok(UserSort::default());
    };
    let (field, dir) = s.split_once(':').unwrap_or((s, "1"));
    let by = match field {
        "created_at" => SortKey::Created,
        "email" => SortKey::Email,
        "user_id" => SortKey::UserId,
        _ => {
            return Err(ManageError::field(
                "sort",
                "sorts by created_at, email or user_id",
            ));
        }
    };
    let descending = match dir {
        "1" => false,
        "-1" => true,
        _ => return Err(ManageError::field("sort", "ends with :1 or :-1")),
    };
    Ok(UserSort { by, descending })
}
