//! APIs (resource servers): create, find, update; their scopes, signing algorithm and HS256
//! secret.

use super::*;
#[derive(Debug, Default, Clone)]
pub struct ApiSpec {
    pub name: Option<String>,
    pub identifier: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub signing_alg: Option<String>,
    pub token_lifetime: Option<i64>,
    pub token_lifetime_for_web: Option<i64>,
    pub token_dialect: Option<String>,
    pub allow_offline_access: Option<bool>,
    pub enforce_policies: Option<bool>,
}

pub(super) fn parse_scopes(list: &[String]) -> ManageResult<Vec<ScopeDef>> {
    let mut out: Vec<ScopeDef> = Vec::new();
    for s in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !crate::scope::is_scope_token(s) {
            return Err(invalid(format!(
                "invalid scope '{}': no spaces, quotes or backslashes",
                s.escape_default()
            )));
        }
        if !out.iter().any(|d| d.value == s) {
            out.push(ScopeDef {
                value: s.to_owned(),
                description: String::new(),
            });
        }
    }
    Ok(out)
}

/// Applies the spec's fields to `rs`, validating each.
fn apply_api_spec(rs: &mut ResourceServer, spec: &ApiSpec) -> ManageResult<()> {
    if let Some(n) = &spec.name {
        validate::name(n).map_err(invalid)?;
        rs.name = n.clone();
    }
    if let Some(s) = &spec.scopes {
        rs.scopes = parse_scopes(s)?;
    }
    if let Some(a) = &spec.signing_alg {
        rs.signing_alg = SigningAlg::parse(a).ok_or_else(|| {
            invalid(format!(
                "unknown signing algorithm '{a}': use RS256, ES256, EdDSA or HS256"
            ))
        })?;
    }
    if let Some(l) = spec.token_lifetime {
        validate::token_lifetime(l).map_err(invalid)?;
        rs.token_lifetime = l;
    }
    if let Some(l) = spec.token_lifetime_for_web {
        validate::token_lifetime(l).map_err(invalid)?;
        rs.token_lifetime_for_web = l;
    }
    if let Some(d) = &spec.token_dialect {
        rs.token_dialect = TokenDialect::parse(d).ok_or_else(|| {
            invalid(format!(
                "unknown token dialect '{d}': use access_token, access_token_authz, rfc9068_profile or rfc9068_profile_authz"
            ))
        })?;
    }
    if let Some(b) = spec.allow_offline_access {
        rs.allow_offline_access = b;
    }
    if let Some(b) = spec.enforce_policies {
        rs.enforce_policies = b;
    }
    rs.token_lifetime_for_web = rs.token_lifetime_for_web.min(rs.token_lifetime);
    Ok(())
}

/// Gives an HS256 API a secret if it has none. Returns the secret when one was made.
fn ensure_hs256_secret(rs: &mut ResourceServer, master: &MasterKey) -> Option<Secret> {
    if rs.signing_alg != SigningAlg::HS256 || rs.signing_secret_enc.is_some() {
        return None;
    }
    let secret = Secret::random(32);
    rs.signing_secret_enc = Some(master.encrypt_to_base64(
        secret.expose().as_bytes(),
        &hs256_aad(&rs.tenant_id, &rs.identifier),
    ));
    Some(secret)
}

/// Finds an API by id or by identifier.
pub(crate) async fn find_api(
    store: &dyn Store,
    tenant: &str,
    id_or_identifier: &str,
) -> ManageResult<ResourceServer> {
    if let Some(rs) = store.resource_server(tenant, id_or_identifier).await? {
        return Ok(rs);
    }
    store
        .resource_server_by_identifier(tenant, id_or_identifier)
        .await?
        .ok_or_else(|| {
            ManageError::NotFound(format!("no API with id or identifier '{id_or_identifier}'"))
        })
}

/// The HS256 secret of an API, decrypted (it is a shared key the API needs to verify tokens).
pub fn api_signing_secret(master: &MasterKey, rs: &ResourceServer) -> Option<String> {
    String::from_utf8(crate::keys::hs256_secret(master, rs).ok()?).ok()
}

impl Manager<'_> {
    pub async fn create_api(&self, spec: &ApiSpec) -> ManageResult<ResourceServer> {
        self.actor.require(&["create:resource_servers"])?;
        let store = self.store;
        let master = self.master;
        let clock = self.clock;
        let tenant = self.tenant;
        let now = clock.now();
        let name = spec
            .name
            .clone()
            .ok_or_else(|| ManageError::required("name"))?;
        let identifier = spec
            .identifier
            .clone()
            .ok_or_else(|| ManageError::required("identifier"))?;
        validate::identifier(&identifier).map_err(invalid)?;
        let mut rs = ResourceServer {
            tenant_id: tenant.to_owned(),
            id: hex::encode(random_bytes(12)),
            name,
            identifier,
            scopes: Vec::new(),
            signing_alg: SigningAlg::RS256,
            signing_secret_enc: None,
            token_lifetime: ResourceServer::DEFAULT_TOKEN_LIFETIME,
            token_lifetime_for_web: ResourceServer::DEFAULT_TOKEN_LIFETIME_FOR_WEB,
            allow_offline_access: false,
            enforce_policies: false,
            token_dialect: TokenDialect::AccessToken,
            skip_consent_for_verifiable_first_party_clients: true,
            is_system: false,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        apply_api_spec(&mut rs, spec)?;
        ensure_hs256_secret(&mut rs, master);
        ensure_signing_key(store, master, clock, tenant, rs.signing_alg).await?;
        store
            .insert_resource_server(&rs)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ManageError::Conflict(format!(
                    "an API with identifier {} already exists",
                    rs.identifier
                )),
                other => other.into(),
            })?;
        Ok(rs)
    }
    pub async fn update_api(&self, id: &str, spec: &ApiSpec) -> ManageResult<ResourceServer> {
        self.actor.require(&["update:resource_servers"])?;
        let store = self.store;
        let master = self.master;
        let clock = self.clock;
        let tenant = self.tenant;
        retry_stale(move || async move {
            let mut rs = find_api(store, tenant, id).await?;
            refuse_system(&rs)?;
            if spec
                .identifier
                .as_ref()
                .is_some_and(|i| *i != rs.identifier)
            {
                return Err(invalid(
                    "an API's identifier cannot change; create a new API instead".into(),
                ));
            }
            apply_api_spec(&mut rs, spec)?;
            ensure_hs256_secret(&mut rs, master);
            ensure_signing_key(store, master, clock, tenant, rs.signing_alg).await?;
            rs.updated_at = clock.now();
            store.update_resource_server(&rs).await?;
            rs.version += 1;
            Ok(rs)
        })
        .await
    }
}

impl Manager<'_> {
    /// An API by id or identifier.
    pub async fn get_api(&self, id_or_identifier: &str) -> ManageResult<ResourceServer> {
        self.actor.require(&["read:resource_servers"])?;
        find_api(self.store, self.tenant, id_or_identifier).await
    }

    pub async fn list_apis(&self) -> ManageResult<Vec<ResourceServer>> {
        self.actor.require(&["read:resource_servers"])?;
        Ok(self.store.resource_servers(self.tenant).await?)
    }

    /// Deletes an API (by id or identifier) with its client grants; returns it.
    pub async fn delete_api(&self, id_or_identifier: &str) -> ManageResult<ResourceServer> {
        self.actor.require(&["delete:resource_servers"])?;
        let rs = find_api(self.store, self.tenant, id_or_identifier).await?;
        refuse_system(&rs)?;
        if !self
            .store
            .delete_resource_server(self.tenant, &rs.id)
            .await?
        {
            return Err(ManageError::NotFound(format!(
                "no API '{id_or_identifier}'"
            )));
        }
        Ok(rs)
    }
}

/// The scopes of a tenant's Management API: Auth0's names, one per operation Tessera offers.
pub const MANAGEMENT_SCOPES: &[&str] = &[
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_keys",
    "update:client_keys",
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:users",
    "create:users",
    "update:users",
    "delete:users",
    "update:users_app_metadata",
    "read:roles",
    "create:roles",
    "update:roles",
    "delete:roles",
    "read:role_members",
    "create:role_members",
    "delete:role_members",
    "read:actions",
    "create:actions",
    "update:actions",
    "delete:actions",
    "read:rules",
    "create:rules",
    "update:rules",
    "delete:rules",
    "read:rules_configs",
    "update:rules_configs",
    "delete:rules_configs",
    "read:signing_keys",
    "create:signing_keys",
    "update:signing_keys",
    "read:tenant_settings",
    "update:tenant_settings",
    "read:logs",
    "read:stats",
    "read:connections",
    "update:connections",
];

/// Gives the tenant its Management API (`is_system`, audience [`management_audience`]) if it
/// has none: what a Management API token is asked for with client credentials.
pub async fn ensure_management_api(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &Tenant,
) -> ManageResult<()> {
    if store
        .resource_servers(&tenant.id)
        .await?
        .iter()
        .any(|a| a.is_system)
    {
        return Ok(());
    }
    let now = clock.now();
    let rs = ResourceServer {
        tenant_id: tenant.id.clone(),
        id: hex::encode(random_bytes(12)),
        name: "Tessera Management API".into(),
        identifier: super::management_audience(tenant),
        scopes: MANAGEMENT_SCOPES
            .iter()
            .map(|s| ScopeDef {
                value: (*s).to_owned(),
                description: String::new(),
            })
            .collect(),
        signing_alg: SigningAlg::RS256,
        signing_secret_enc: None,
        token_lifetime: ResourceServer::DEFAULT_TOKEN_LIFETIME,
        token_lifetime_for_web: ResourceServer::DEFAULT_TOKEN_LIFETIME_FOR_WEB,
        allow_offline_access: false,
        enforce_policies: false,
        token_dialect: TokenDialect::AccessToken,
        skip_consent_for_verifiable_first_party_clients: false,
        is_system: true,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    match store.insert_resource_server(&rs).await {
        Ok(()) => Ok(()),
        // Another node made it first, or an API of the operator's already has that identifier.
        Err(StoreError::Conflict(_)) => {
            tracing::warn!(identifier = %rs.identifier, "the Management API's identifier is taken; /api/v2 tokens cannot be issued until it is free");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The system API is Tessera's, not the operator's.
fn refuse_system(rs: &ResourceServer) -> ManageResult<()> {
    if rs.is_system {
        return Err(ManageError::Forbidden(
            "The Management API is a system API: it cannot be changed or deleted".into(),
        ));
    }
    Ok(())
}
