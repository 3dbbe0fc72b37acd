//! Applications (clients): create, update, rotate their secret, and grant them APIs for the
//! client-credentials flow.

use super::*;
#[derive(Debug, Default, Clone)]
pub struct AppSpec {
    pub name: Option<String>,
    pub app_type: Option<String>,
    pub callbacks: Option<Vec<String>>,
    pub logout_urls: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub auth_method: Option<String>,
    pub legacy: Option<bool>,
    pub allow_pkce_plain: Option<bool>,
    pub disabled: Option<bool>,
    pub strict_auth_method: Option<bool>,
    /// Added to the callbacks (after `callbacks`, which replaces them).
    pub add_callbacks: Vec<String>,
    /// Added to the allowed logout URLs (after `logout_urls`, which replaces them).
    pub add_logout_urls: Vec<String>,
}

fn apply_app_spec(c: &mut Client, spec: &AppSpec) -> ManageResult<()> {
    if let Some(n) = &spec.name {
        validate::name(n).map_err(invalid)?;
        c.name = n.clone();
    }
    if let Some(l) = &spec.callbacks {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::callback_url(u))
            .map_err(|e| ManageError::field("callbacks", e))?;
        c.callbacks = l;
    }
    if let Some(l) = &spec.logout_urls {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::redirect_url(u))
            .map_err(|e| ManageError::field("allowed_logout_urls", e))?;
        c.allowed_logout_urls = l;
    }
    type Check = fn(&str) -> Result<(), String>;
    let additions: [(&Vec<String>, &mut Vec<String>, &'static str, Check); 2] = [
        (
            &spec.add_callbacks,
            &mut c.callbacks,
            "add_callback",
            validate::callback_url,
        ),
        (
            &spec.add_logout_urls,
            &mut c.allowed_logout_urls,
            "add_logout_url",
            validate::redirect_url,
        ),
    ];
    for (added, list, field, check) in additions {
        for u in clean_list(added) {
            check(&u).map_err(|e| ManageError::field(field, e))?;
            if !list.contains(&u) {
                list.push(u);
            }
        }
    }
    if let Some(l) = &spec.web_origins {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::web_origin(u))
            .map_err(|e| ManageError::field("web_origins", e))?;
        c.web_origins = l;
    }
    if let Some(l) = &spec.grant_types {
        let mut grants = Vec::new();
        for g in clean_list(l) {
            let parsed = GrantType::parse(&g).ok_or_else(|| {
                let all: Vec<_> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
                invalid(format!("unknown grant type '{g}': use {}", all.join(", ")))
            })?;
            if !grants.contains(&parsed) {
                grants.push(parsed);
            }
        }
        c.grant_types = grants;
    }
    if let Some(m) = &spec.auth_method {
        c.token_endpoint_auth_method = AuthMethod::parse(m).ok_or_else(|| {
            invalid(format!(
                "unknown auth method '{m}': use none, client_secret_post or client_secret_basic"
            ))
        })?;
    }
    if let Some(l) = spec.legacy {
        c.oidc_conformant = !l;
    }
    if let Some(p) = spec.allow_pkce_plain {
        c.allow_pkce_plain = p;
    }
    if let Some(d) = spec.disabled {
        c.disabled = d;
    }
    if let Some(s) = spec.strict_auth_method {
        c.strict_auth_method = s;
    }
    let public = c.token_endpoint_auth_method == AuthMethod::None;
    if public && c.allows_grant(GrantType::ClientCredentials) {
        return Err(invalid(
            "a public application (auth method none) cannot use client_credentials".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn find_app(
    store: &dyn Store,
    tenant: &str,
    client_id: &str,
) -> ManageResult<Client> {
    store.client(tenant, client_id).await?.ok_or_else(|| {
        ManageError::NotFound(format!("no application with client_id '{client_id}'"))
    })
}

impl Manager<'_> {
    /// Creates an application. A confidential one gets a client secret, returned here only.
    pub async fn create_app(&self, spec: &AppSpec) -> ManageResult<(Client, Option<Secret>)> {
        self.actor.require(&["create:clients"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        let now = clock.now();
        let name = spec
            .name
            .clone()
            .ok_or_else(|| ManageError::required("name"))?;
        let type_name = spec
            .app_type
            .as_deref()
            .ok_or_else(|| ManageError::required("app_type"))?;
        let app_type = AppType::parse(type_name).ok_or_else(|| {
            invalid(format!(
                "unknown application type '{type_name}': use spa, native, regular or m2m"
            ))
        })?;
        let mut c = Client {
            tenant_id: tenant.to_owned(),
            client_id: random_alphanumeric(32),
            name,
            description: String::new(),
            app_type,
            callbacks: Vec::new(),
            allowed_logout_urls: Vec::new(),
            web_origins: Vec::new(),
            grant_types: app_type.default_grant_types(),
            token_endpoint_auth_method: app_type.default_auth_method(),
            oidc_conformant: true,
            is_first_party: true,
            client_secret_hash: None,
            client_metadata: Map::new(),
            allow_pkce_plain: false,
            disabled: false,
            strict_auth_method: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        apply_app_spec(&mut c, spec)?;
        let secret = (c.token_endpoint_auth_method != AuthMethod::None).then(|| Secret::random(48));
        c.client_secret_hash = secret.as_ref().map(Secret::hash);
        store.insert_client(&c).await?;
        Ok((c, secret))
    }
    /// Updates an application. Turning a public app confidential creates its secret (returned).
    pub async fn update_app(
        &self,
        client_id: &str,
        spec: &AppSpec,
    ) -> ManageResult<(Client, Option<Secret>)> {
        self.actor.require(&["update:clients"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let mut c = find_app(store, tenant, client_id).await?;
            if spec.app_type.is_some() {
                return Err(invalid(
                    "an application's type cannot change; create a new application instead".into(),
                ));
            }
            apply_app_spec(&mut c, spec)?;
            let mut secret = None;
            match (c.token_endpoint_auth_method, c.client_secret_hash.is_some()) {
                (AuthMethod::None, true) => c.client_secret_hash = None,
                (AuthMethod::ClientSecretPost | AuthMethod::ClientSecretBasic, false) => {
                    let s = Secret::random(48);
                    c.client_secret_hash = Some(s.hash());
                    secret = Some(s);
                }
                _ => {}
            }
            c.updated_at = clock.now();
            store.update_client(&c).await?;
            c.version += 1;
            Ok((c, secret))
        })
        .await
    }
    /// A new client secret; the old one stops working at once.
    pub async fn rotate_app_secret(&self, client_id: &str) -> ManageResult<(Client, Secret)> {
        self.actor.require(&["update:client_keys"])?;
        let store = self.store;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let mut c = find_app(store, tenant, client_id).await?;
            if c.token_endpoint_auth_method == AuthMethod::None {
                return Err(invalid(format!(
                    "application {client_id} is public (auth method none) and has no secret"
                )));
            }
            let s = Secret::random(48);
            c.client_secret_hash = Some(s.hash());
            c.updated_at = clock.now();
            store.update_client(&c).await?;
            c.version += 1;
            Ok((c, s))
        })
        .await
    }
}

impl Manager<'_> {
    /// An application by client id.
    pub async fn get_app(&self, client_id: &str) -> ManageResult<Client> {
        self.actor.require(&["read:clients"])?;
        find_app(self.store, self.tenant, client_id).await
    }

    pub async fn list_apps(&self) -> ManageResult<Vec<Client>> {
        self.actor.require(&["read:clients"])?;
        Ok(self.store.clients(self.tenant).await?)
    }

    /// Deletes an application and its client grants.
    pub async fn delete_app(&self, client_id: &str) -> ManageResult<()> {
        self.actor.require(&["delete:clients"])?;
        if !self.store.delete_client(self.tenant, client_id).await? {
            return Err(ManageError::NotFound(format!(
                "no application with client_id '{client_id}'"
            )));
        }
        Ok(())
    }
}
