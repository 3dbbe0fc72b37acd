//! Operator actions on the dashboard model (what the CLI and, later, the Management API do):
//! validate, fill Auth0's defaults, store. Secrets exist in the clear only in the return value.

use serde_json::{Map, Value};

use crate::{
    Clock, Store, StoreError,
    grant::hs256_aad,
    keys::{KeyRingError, MasterKey},
    model::{
        AppType, AuthMethod, Client, ClientGrant, GrantType, KeyStatus, ResourceServer, ScopeDef,
        SigningAlg, Tenant, TokenDialect, User,
    },
    password,
    secret::{Secret, random_alphanumeric, random_bytes},
    validate,
};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The operator's input is wrong; the text says how.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    #[error(
        "the master key does not match the one this installation was created with: \
         set TESSERA_MASTER_KEY to the installation's key, or restore its master.key file"
    )]
    WrongMasterKey,
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::NotFound(m) => Self::NotFound(m),
            other => Self::Store(other),
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// How many times [`retry_stale`] runs a change before it gives up.
const STALE_TRIES: usize = 20;

/// Runs a read-change-write `attempt` again while its write finds that the object changed
/// since it was read (`StoreError::Stale`: a sign-in's bookkeeping, another operator, another
/// node): each try applies the change to what is stored now, never over it.
pub async fn retry_stale<T>(mut attempt: impl AsyncFnMut() -> AdminResult<T>) -> AdminResult<T> {
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(AdminError::Store(StoreError::Stale(what))) if tries < STALE_TRIES => {
                tracing::debug!(%what, tries, "changed meanwhile; reading it again");
                tries += 1;
            }
            other => return other,
        }
    }
}

fn invalid(e: String) -> AdminError {
    AdminError::Invalid(e)
}

const MASTER_KEY_CHECK: &[u8] = b"tessera master key check";

fn master_key_check_aad(tenant: &str) -> String {
    format!("master-key-check:{tenant}")
}

/// Creates the tenant on first start (and its RS256 key); later starts reuse it, after checking
/// that `master` is the key the installation was made with. An explicitly given issuer replaces
/// the stored one; with `adopt_default_issuer` (the server starting), a stored issuer that was
/// only ever a default follows `default_issuer`.
pub async fn ensure_tenant(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant_id: &str,
    issuer: Option<&str>,
    default_issuer: &str,
    adopt_default_issuer: bool,
) -> AdminResult<Tenant> {
    let now = clock.now();
    if let Some(i) = issuer {
        validate::redirect_url(i).map_err(|e| invalid(format!("--issuer: {e}")))?;
    }
    let aad = master_key_check_aad(tenant_id);
    let tenant = match store.tenant(tenant_id).await? {
        Some(mut t) => {
            let mut changed = false;
            match &t.master_key_check {
                Some(sealed) => {
                    if master.decrypt_base64(sealed, &aad).ok().as_deref() != Some(MASTER_KEY_CHECK)
                    {
                        return Err(AdminError::WrongMasterKey);
                    }
                }
                None => {
                    t.master_key_check = Some(master.encrypt_to_base64(MASTER_KEY_CHECK, &aad));
                    changed = true;
                }
            }
            let wanted = match issuer {
                Some(i) => Some((crate::model::normalize_issuer(i), false)),
                None if adopt_default_issuer && t.issuer_is_default => {
                    Some((crate::model::normalize_issuer(default_issuer), true))
                }
                None => None,
            };
            if let Some((wanted, is_default)) = wanted
                && (wanted != t.issuer || is_default != t.issuer_is_default)
            {
                if wanted != t.issuer {
                    tracing::warn!(old = %t.issuer, new = %wanted, "issuer changed");
                }
                t.issuer = wanted;
                t.issuer_is_default = is_default;
                changed = true;
            }
            if changed {
                match store.update_tenant(&t).await {
                    // Another node changed the tenant since it was read: start over on theirs.
                    Err(StoreError::Stale(_)) => {
                        return Box::pin(ensure_tenant(
                            store,
                            master,
                            clock,
                            tenant_id,
                            issuer,
                            default_issuer,
                            adopt_default_issuer,
                        ))
                        .await;
                    }
                    other => other?,
                }
                t.version += 1;
            }
            t
        }
        None => {
            let mut t = Tenant::new(tenant_id, issuer.unwrap_or(default_issuer), now);
            t.issuer_is_default = issuer.is_none();
            t.master_key_check = Some(master.encrypt_to_base64(MASTER_KEY_CHECK, &aad));
            match store.insert_tenant(&t).await {
                // Another process created it first: use theirs, if our key is theirs.
                Err(StoreError::Conflict(_)) => {
                    return Box::pin(ensure_tenant(
                        store,
                        master,
                        clock,
                        tenant_id,
                        issuer,
                        default_issuer,
                        false,
                    ))
                    .await;
                }
                Err(e) => return Err(e.into()),
                Ok(()) => t,
            }
        }
    };
    ensure_signing_key(store, master, clock, tenant_id, SigningAlg::RS256).await?;
    Ok(tenant)
}

/// Makes sure a current key exists for `alg` (no-op for HS256, which uses the API's secret).
pub async fn ensure_signing_key(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant: &str,
    alg: SigningAlg,
) -> AdminResult<()> {
    if alg == SigningAlg::HS256 {
        return Ok(());
    }
    let keys = store.signing_keys(tenant).await?;
    if !keys
        .iter()
        .any(|k| k.alg == alg && k.status == KeyStatus::Current)
    {
        // Nodes starting together on an empty database: one key, whichever node makes it.
        let key = crate::keys::new_key_record(tenant, alg, master, clock.now())?;
        store.add_first_signing_key(&key).await?;
    }
    Ok(())
}

/// Sets (or, with an empty string, clears) the tenant's default audience: the API that token
/// requests without `audience` are for.
pub async fn set_default_audience(
    store: &dyn Store,
    tenant_id: &str,
    audience: &str,
) -> AdminResult<Tenant> {
    retry_stale(async || {
        let mut t = store
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("tenant {tenant_id}")))?;
        if audience.is_empty() {
            t.default_audience = None;
        } else {
            validate::identifier(audience)
                .map_err(|e| invalid(format!("--default-audience: {e}")))?;
            if store
                .resource_server_by_identifier(tenant_id, audience)
                .await?
                .is_none()
            {
                return Err(invalid(format!(
                    "--default-audience: no API has the identifier {audience}, so every request \
                     without an audience would fail; create it first with `tessera apis create \
                     --identifier {audience} …`"
                )));
            }
            t.default_audience = Some(audience.to_owned());
        }
        store.update_tenant(&t).await?;
        t.version += 1;
        Ok(t)
    })
    .await
}

/// Tenant lifetimes, in seconds; `None` leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct TenantLifetimes {
    pub id_token_lifetime: Option<i64>,
    pub session_lifetime: Option<i64>,
    pub session_idle_lifetime: Option<i64>,
    pub refresh_token_lifetime: Option<i64>,
    pub refresh_token_idle_lifetime: Option<i64>,
    pub refresh_token_reuse_interval: Option<i64>,
    pub script_time_limit_ms: Option<i64>,
}

/// Changes the tenant's session and token lifetimes. Each must be positive (the reuse interval
/// may be 0) and at most 365 days; an idle lifetime may not exceed its absolute one.
pub async fn set_lifetimes(
    store: &dyn Store,
    tenant_id: &str,
    l: &TenantLifetimes,
) -> AdminResult<Tenant> {
    retry_stale(async || {
        const MAX: i64 = 365 * 86_400;
        let mut t = store
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("tenant {tenant_id}")))?;
        let fields: [(&str, Option<i64>, &mut i64, i64); 6] = [
            (
                "--id-token-lifetime",
                l.id_token_lifetime,
                &mut t.id_token_lifetime,
                1,
            ),
            (
                "--session-lifetime",
                l.session_lifetime,
                &mut t.session_lifetime,
                1,
            ),
            (
                "--session-idle-lifetime",
                l.session_idle_lifetime,
                &mut t.session_idle_lifetime,
                1,
            ),
            (
                "--refresh-token-lifetime",
                l.refresh_token_lifetime,
                &mut t.refresh_token_lifetime,
                1,
            ),
            (
                "--refresh-token-idle-lifetime",
                l.refresh_token_idle_lifetime,
                &mut t.refresh_token_idle_lifetime,
                1,
            ),
            (
                "--refresh-token-reuse-interval",
                l.refresh_token_reuse_interval,
                &mut t.refresh_token_reuse_interval,
                0,
            ),
        ];
        for (flag, value, slot, min) in fields {
            if let Some(v) = value {
                if !(min..=MAX).contains(&v) {
                    return Err(invalid(format!(
                        "{flag} must be between {min} and {MAX} seconds"
                    )));
                }
                *slot = v;
            }
        }
        if let Some(ms) = l.script_time_limit_ms {
            if !(1..=Tenant::MAX_SCRIPT_TIME_LIMIT_MS).contains(&ms) {
                return Err(invalid(format!(
                    "--script-time-limit-ms must be between 1 and {}",
                    Tenant::MAX_SCRIPT_TIME_LIMIT_MS
                )));
            }
            t.script_time_limit_ms = ms;
        }
        if t.session_idle_lifetime > t.session_lifetime
            || t.refresh_token_idle_lifetime > t.refresh_token_lifetime
        {
            return Err(invalid(
                "an idle lifetime cannot be longer than its absolute lifetime".into(),
            ));
        }
        store.update_tenant(&t).await?;
        t.version += 1;
        Ok(t)
    })
    .await
}

/// Attack-protection settings; `None` leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct AttackSettings {
    pub brute_force: Option<bool>,
    pub brute_force_max_attempts: Option<i64>,
    pub suspicious_ip_throttling: Option<bool>,
    pub suspicious_ip_max_attempts: Option<i64>,
    pub token_rate_limit_per_minute: Option<i64>,
    pub login_transactions_per_ip: Option<i64>,
    /// Replaces the allowlist (addresses or networks).
    pub allowlist: Option<Vec<String>>,
}

/// Changes the tenant's attack protection. Attempt limits are 1 to 10,000; the token rate
/// limit is 0 (off) to 1,000,000 per minute.
pub async fn set_attack_protection(
    store: &dyn Store,
    tenant_id: &str,
    a: &AttackSettings,
) -> AdminResult<Tenant> {
    retry_stale(async || {
        let mut t = store
            .tenant(tenant_id)
            .await?
            .ok_or_else(|| AdminError::NotFound(format!("tenant {tenant_id}")))?;
        let ap = &mut t.attack_protection;
        let limits: [(&str, Option<i64>, &mut i64, i64, i64); 4] = [
            (
                "--brute-force-max-attempts",
                a.brute_force_max_attempts,
                &mut ap.brute_force_max_attempts,
                1,
                10_000,
            ),
            (
                "--suspicious-ip-max-attempts",
                a.suspicious_ip_max_attempts,
                &mut ap.suspicious_ip_max_attempts,
                1,
                10_000,
            ),
            (
                "--token-rate-limit",
                a.token_rate_limit_per_minute,
                &mut ap.token_rate_limit_per_minute,
                0,
                1_000_000,
            ),
            (
                "--login-transactions-per-ip",
                a.login_transactions_per_ip,
                &mut ap.login_transactions_per_ip,
                1,
                1_000_000,
            ),
        ];
        for (flag, value, slot, min, max) in limits {
            if let Some(v) = value {
                if !(min..=max).contains(&v) {
                    return Err(invalid(format!("{flag} must be between {min} and {max}")));
                }
                *slot = v;
            }
        }
        if let Some(b) = a.brute_force {
            ap.brute_force = b;
        }
        if let Some(b) = a.suspicious_ip_throttling {
            ap.suspicious_ip_throttling = b;
        }
        if let Some(list) = &a.allowlist {
            let list = clean_list(list);
            for entry in &list {
                entry
                    .parse::<crate::net::IpNet>()
                    .map_err(|e| invalid(format!("--attack-allowlist: {e}")))?;
            }
            ap.allowlist = list;
        }
        store.update_tenant(&t).await?;
        t.version += 1;
        Ok(t)
    })
    .await
}

// ---------------------------------------------------------------- APIs

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

fn parse_scopes(list: &[String]) -> AdminResult<Vec<ScopeDef>> {
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
fn apply_api_spec(rs: &mut ResourceServer, spec: &ApiSpec) -> AdminResult<()> {
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

pub async fn create_api(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant: &str,
    spec: &ApiSpec,
) -> AdminResult<ResourceServer> {
    let now = clock.now();
    let name = spec
        .name
        .clone()
        .ok_or_else(|| invalid("--name is required".into()))?;
    let identifier = spec
        .identifier
        .clone()
        .ok_or_else(|| invalid("--identifier is required".into()))?;
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
            StoreError::Conflict(_) => AdminError::Conflict(format!(
                "an API with identifier {} already exists",
                rs.identifier
            )),
            other => other.into(),
        })?;
    Ok(rs)
}

/// Finds an API by id or by identifier.
pub async fn find_api(
    store: &dyn Store,
    tenant: &str,
    id_or_identifier: &str,
) -> AdminResult<ResourceServer> {
    if let Some(rs) = store.resource_server(tenant, id_or_identifier).await? {
        return Ok(rs);
    }
    store
        .resource_server_by_identifier(tenant, id_or_identifier)
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!("no API with id or identifier '{id_or_identifier}'"))
        })
}

pub async fn update_api(
    store: &dyn Store,
    master: &MasterKey,
    clock: &dyn Clock,
    tenant: &str,
    id: &str,
    spec: &ApiSpec,
) -> AdminResult<ResourceServer> {
    retry_stale(async || {
        let mut rs = find_api(store, tenant, id).await?;
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

/// The HS256 secret of an API, decrypted (it is a shared key the API needs to verify tokens).
pub fn api_signing_secret(master: &MasterKey, rs: &ResourceServer) -> Option<String> {
    String::from_utf8(crate::grant::hs256_secret(master, rs).ok()?).ok()
}

// ---------------------------------------------------------------- applications

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

fn clean_list(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn apply_app_spec(c: &mut Client, spec: &AppSpec) -> AdminResult<()> {
    if let Some(n) = &spec.name {
        validate::name(n).map_err(invalid)?;
        c.name = n.clone();
    }
    if let Some(l) = &spec.callbacks {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::callback_url(u))
            .map_err(|e| invalid(format!("--callbacks: {e}")))?;
        c.callbacks = l;
    }
    if let Some(l) = &spec.logout_urls {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::redirect_url(u))
            .map_err(|e| invalid(format!("--logout-urls: {e}")))?;
        c.allowed_logout_urls = l;
    }
    for (added, list, flag) in [
        (&spec.add_callbacks, &mut c.callbacks, "--add-callback"),
        (
            &spec.add_logout_urls,
            &mut c.allowed_logout_urls,
            "--add-logout-url",
        ),
    ] {
        for u in clean_list(added) {
            let checked = if flag == "--add-callback" {
                validate::callback_url(&u)
            } else {
                validate::redirect_url(&u)
            };
            checked.map_err(|e| invalid(format!("{flag}: {e}")))?;
            if !list.contains(&u) {
                list.push(u);
            }
        }
    }
    if let Some(l) = &spec.web_origins {
        let l = clean_list(l);
        l.iter()
            .try_for_each(|u| validate::web_origin(u))
            .map_err(|e| invalid(format!("--web-origins: {e}")))?;
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

/// Creates an application. A confidential one gets a client secret, returned here only.
pub async fn create_app(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    spec: &AppSpec,
) -> AdminResult<(Client, Option<Secret>)> {
    let now = clock.now();
    let name = spec
        .name
        .clone()
        .ok_or_else(|| invalid("--name is required".into()))?;
    let type_name = spec
        .app_type
        .as_deref()
        .ok_or_else(|| invalid("--type is required".into()))?;
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

pub async fn find_app(store: &dyn Store, tenant: &str, client_id: &str) -> AdminResult<Client> {
    store
        .client(tenant, client_id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no application with client_id '{client_id}'")))
}

/// Updates an application. Turning a public app confidential creates its secret (returned).
pub async fn update_app(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    client_id: &str,
    spec: &AppSpec,
) -> AdminResult<(Client, Option<Secret>)> {
    retry_stale(async || {
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
pub async fn rotate_app_secret(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    client_id: &str,
) -> AdminResult<(Client, Secret)> {
    retry_stale(async || {
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

/// A warning for a client grant that cannot be used: only the client-credentials flow reads
/// client grants.
pub fn grant_warning(client: &Client) -> Option<String> {
    (!client.allows_grant(GrantType::ClientCredentials)).then(|| {
        format!(
            "warning: application {} cannot use client credentials (its grant types are {}), so \
             this grant has no effect until it can: `tessera apps update {} --grant-types \
             ...,client_credentials` (public applications never can)",
            client.client_id,
            client
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(","),
            client.client_id
        )
    })
}

/// Grants an application an API with scopes (replacing the scopes of an existing grant). Every
/// scope must be one the API defines.
pub async fn grant_app(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    client_id: &str,
    audience: &str,
    scopes: &[String],
) -> AdminResult<ClientGrant> {
    retry_stale(async || {
        let client = find_app(store, tenant, client_id).await?;
        let api = store
            .resource_server_by_identifier(tenant, audience)
            .await?
            .ok_or_else(|| {
                AdminError::NotFound(format!(
                    "no API with identifier '{audience}' (create it with `tessera apis create`)"
                ))
            })?;
        let scopes: Vec<String> = parse_scopes(scopes)?.into_iter().map(|d| d.value).collect();
        if let Some(unknown) = scopes.iter().find(|s| !api.has_scope(s)) {
            return Err(invalid(format!(
                "the API {audience} does not define the scope '{unknown}'"
            )));
        }
        if let Some(mut g) = store
            .client_grant(tenant, &client.client_id, &api.identifier)
            .await?
        {
            g.scope = scopes;
            store.update_client_grant(&g).await?;
            g.version += 1;
            return Ok(g);
        }
        let g = ClientGrant {
            tenant_id: tenant.to_owned(),
            id: format!("cgr_{}", random_alphanumeric(16)),
            client_id: client.client_id,
            audience: api.identifier,
            scope: scopes,
            version: 0,
            created_at: clock.now(),
        };
        store.insert_client_grant(&g).await?;
        Ok(g)
    })
    .await
}

// ---------------------------------------------------------------- users

#[derive(Debug, Default)]
pub struct UserSpec {
    pub email: Option<String>,
    pub password: Option<Secret>,
    pub name: Option<String>,
    pub email_verified: Option<bool>,
    pub app_metadata: Option<String>,
    pub user_metadata: Option<String>,
}

fn parse_metadata(flag: &str, json: &str) -> AdminResult<Map<String, Value>> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(format!(
            "{flag}: must be a JSON object, like '{{\"plan\":\"pro\"}}'"
        ))),
        Err(e) => Err(invalid(format!("{flag}: invalid JSON: {e}"))),
    }
}

/// Validates everything cheap first, so a bad flag never costs a password hash.
fn apply_user_spec(u: &mut User, spec: &UserSpec) -> AdminResult<Option<String>> {
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
    if let Some(m) = &spec.app_metadata {
        u.app_metadata = parse_metadata("--app-metadata", m)?;
    }
    if let Some(m) = &spec.user_metadata {
        u.user_metadata = parse_metadata("--user-metadata", m)?;
    }
    match &spec.password {
        Some(p) => {
            password::check_policy(p.expose()).map_err(invalid)?;
            Ok(Some(p.expose().to_owned()))
        }
        None => Ok(None),
    }
}

/// `hash` turns a password into its stored form; callers pass [`password::hash`], run where
/// CPU-bound work belongs.
pub async fn create_user(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    spec: &UserSpec,
    hash: impl FnOnce(String) -> String,
) -> AdminResult<User> {
    let now = clock.now();
    if spec.email.is_none() {
        return Err(invalid("--email is required".into()));
    }
    if spec.password.is_none() {
        return Err(invalid("--password is required".into()));
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
        roles: Vec::new(),
        logins_count: 0,
        last_login: None,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    let pw = apply_user_spec(&mut u, spec)?.unwrap_or_default();
    if store.user_by_email(tenant, &u.email).await?.is_some() {
        return Err(AdminError::Conflict(format!(
            "a user with email {} already exists",
            u.email
        )));
    }
    u.password_hash = hash(pw);
    store.insert_user(&u).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            AdminError::Conflict(format!("a user with email {} already exists", u.email))
        }
        other => other.into(),
    })?;
    Ok(u)
}

/// Finds a user by id or by email.
pub async fn find_user(store: &dyn Store, tenant: &str, id_or_email: &str) -> AdminResult<User> {
    if let Some(u) = store.user(tenant, id_or_email).await? {
        return Ok(u);
    }
    store
        .user_by_email(tenant, id_or_email)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no user with id or email '{id_or_email}'")))
}

pub async fn update_user(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    id_or_email: &str,
    spec: &UserSpec,
    hash: impl FnOnce(String) -> String,
) -> AdminResult<User> {
    // The password is hashed once, before any read: a retry reuses the hash.
    let new_hash = match &spec.password {
        Some(p) => {
            password::check_policy(p.expose()).map_err(invalid)?;
            Some(hash(p.expose().to_owned()))
        }
        None => None,
    };
    let u = retry_stale(async || {
        let mut u = find_user(store, tenant, id_or_email).await?;
        let old_email = u.email.clone();
        apply_user_spec(&mut u, spec)?;
        if let Some(h) = &new_hash {
            u.password_hash.clone_from(h);
        }
        if u.email != old_email && store.user_by_email(tenant, &u.email).await?.is_some() {
            return Err(AdminError::Conflict(format!(
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

/// Ends a user's access: every session (so no silent sign-in), authorization code, opaque
/// access token and refresh token of the user is deleted from the database, which every node
/// reads. JWT access tokens cannot be recalled; they live out their (short) lifetime.
async fn end_user_access(
    store: &dyn Store,
    tenant: &str,
    user_id: &str,
    why: &str,
) -> AdminResult<()> {
    let n = store.delete_user_artifacts(tenant, user_id).await?;
    tracing::info!(
        user_id,
        why,
        revoked = n,
        "ended the user's sessions and tokens"
    );
    Ok(())
}

/// Deletes a user, and with it every session and token of theirs.
pub async fn delete_user(store: &dyn Store, tenant: &str, id_or_email: &str) -> AdminResult<User> {
    let u = find_user(store, tenant, id_or_email).await?;
    store.delete_user(tenant, &u.user_id).await?;
    end_user_access(store, tenant, &u.user_id, "user deleted").await?;
    Ok(u)
}

/// Blocks or unblocks a user. Blocking ends the user's sessions and tokens; unblocking lifts
/// the brute-force blocks on the user's email from every IP (`tessera users unblock`).
pub async fn set_user_blocked(
    store: &dyn Store,
    clock: &dyn Clock,
    tenant: &str,
    id_or_email: &str,
    blocked: bool,
) -> AdminResult<User> {
    retry_stale(async || {
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

#[cfg(test)]
mod tests;
