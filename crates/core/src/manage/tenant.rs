//! The tenant: created on first start (with the master-key check), its default audience, its
//! session and token lifetimes, and its attack protection.

use super::*;

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
) -> ManageResult<Tenant> {
    let now = clock.now();
    if let Some(i) = issuer {
        validate::redirect_url(i).map_err(|e| ManageError::field("issuer", e))?;
    }
    let aad = &master_key_check_aad(tenant_id);
    let tenant = retry_stale(move || async move {
        Ok(match store.tenant(tenant_id).await? {
            Some(mut t) => {
                let mut changed = false;
                match &t.master_key_check {
                    Some(sealed) => {
                        if master.decrypt_base64(sealed, aad).ok().as_deref()
                            != Some(MASTER_KEY_CHECK)
                        {
                            return Err(ManageError::WrongMasterKey);
                        }
                    }
                    None => {
                        t.master_key_check = Some(master.encrypt_to_base64(MASTER_KEY_CHECK, aad));
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
                    // Another node may change the tenant meanwhile: `retry_stale` starts over on theirs.
                    store.update_tenant(&t).await?;
                    t.version += 1;
                }
                t
            }
            None => {
                let mut t = Tenant::new(tenant_id, issuer.unwrap_or(default_issuer), now);
                t.issuer_is_default = issuer.is_none();
                t.master_key_check = Some(master.encrypt_to_base64(MASTER_KEY_CHECK, aad));
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
        })
    })
    .await?;
    ensure_signing_key(store, master, clock, tenant_id, SigningAlg::RS256).await?;
    ensure_management_api(store, clock, &tenant).await?;
    Ok(tenant)
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

/// Attack-protection settings; `None` leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct AttackSettings {
    pub brute_force: Option<bool>,
    pub brute_force_max_attempts: Option<i64>,
    pub suspicious_ip_throttling: Option<bool>,
    pub suspicious_ip_max_attempts: Option<i64>,
    pub token_rate_limit_per_minute: Option<i64>,
    pub management_rate_limit_per_minute: Option<i64>,
    pub login_transactions_per_ip: Option<i64>,
    /// Replaces the allowlist (addresses or networks).
    pub allowlist: Option<Vec<String>>,
}

/// Everything `PATCH /tenants/settings` (or `tessera tenant update`) may change at once.
#[derive(Debug, Default, Clone)]
pub struct TenantSettings {
    /// An empty string clears it.
    pub default_audience: Option<String>,
    pub lifetimes: TenantLifetimes,
    pub attack: AttackSettings,
}

impl Manager<'_> {
    /// The tenant's settings.
    pub async fn get_settings(&self) -> ManageResult<Tenant> {
        self.actor.require(&["read:tenant_settings"])?;
        self.store
            .tenant(self.tenant)
            .await?
            .ok_or_else(|| ManageError::NotFound(format!("tenant {}", self.tenant)))
    }

    /// Changes any of the settings in one write: all of them are checked before anything is
    /// stored, so a bad value changes nothing.
    pub async fn update_settings(&self, s: &TenantSettings) -> ManageResult<Tenant> {
        self.actor.require(&["update:tenant_settings"])?;
        let store = self.store;
        let tenant_id = self.tenant;
        retry_stale(move || async move {
            let mut t = store
                .tenant(tenant_id)
                .await?
                .ok_or_else(|| ManageError::NotFound(format!("tenant {tenant_id}")))?;
            if let Some(a) = &s.default_audience {
                apply_default_audience(store, tenant_id, &mut t, a).await?;
            }
            apply_lifetimes(&mut t, &s.lifetimes)?;
            apply_attack(&mut t, &s.attack)?;
            store.update_tenant(&t).await?;
            t.version += 1;
            Ok(t)
        })
        .await
    }

    /// Sets (or, with an empty string, clears) the tenant's default audience: the API that token
    /// requests without `audience` are for.
    pub async fn set_default_audience(&self, audience: &str) -> ManageResult<Tenant> {
        self.update_settings(&TenantSettings {
            default_audience: Some(audience.to_owned()),
            ..Default::default()
        })
        .await
    }

    /// Changes the tenant's session and token lifetimes. Each must be positive (the reuse interval
    /// may be 0) and at most 365 days; an idle lifetime may not exceed its absolute one.
    pub async fn set_lifetimes(&self, l: &TenantLifetimes) -> ManageResult<Tenant> {
        self.update_settings(&TenantSettings {
            lifetimes: l.clone(),
            ..Default::default()
        })
        .await
    }

    /// Changes the tenant's attack protection. Attempt limits are 1 to 10,000; the token rate
    /// limit is 0 (off) to 1,000,000 per minute.
    pub async fn set_attack_protection(&self, a: &AttackSettings) -> ManageResult<Tenant> {
        self.update_settings(&TenantSettings {
            attack: a.clone(),
            ..Default::default()
        })
        .await
    }
}

async fn apply_default_audience(
    store: &dyn Store,
    tenant_id: &str,
    t: &mut Tenant,
    audience: &str,
) -> ManageResult<()> {
    if audience.is_empty() {
        t.default_audience = None;
    } else {
        validate::identifier(audience).map_err(|e| ManageError::field("default_audience", e))?;
        if store
            .resource_server_by_identifier(tenant_id, audience)
            .await?
            .is_none()
        {
            return Err(ManageError::field(
                "default_audience",
                format!(
                    "no API has the identifier {audience}, so every request without an \
                     audience would fail; create the API first"
                ),
            ));
        }
        t.default_audience = Some(audience.to_owned());
    }
    Ok(())
}

fn apply_lifetimes(t: &mut Tenant, l: &TenantLifetimes) -> ManageResult<()> {
    const MAX: i64 = 365 * 86_400;
    let fields: [(&'static str, Option<i64>, &mut i64, i64); 6] = [
        (
            "id_token_lifetime",
            l.id_token_lifetime,
            &mut t.id_token_lifetime,
            1,
        ),
        (
            "session_lifetime",
            l.session_lifetime,
            &mut t.session_lifetime,
            1,
        ),
        (
            "session_idle_lifetime",
            l.session_idle_lifetime,
            &mut t.session_idle_lifetime,
            1,
        ),
        (
            "refresh_token_lifetime",
            l.refresh_token_lifetime,
            &mut t.refresh_token_lifetime,
            1,
        ),
        (
            "refresh_token_idle_lifetime",
            l.refresh_token_idle_lifetime,
            &mut t.refresh_token_idle_lifetime,
            1,
        ),
        (
            "refresh_token_reuse_interval",
            l.refresh_token_reuse_interval,
            &mut t.refresh_token_reuse_interval,
            0,
        ),
    ];
    for (field, value, slot, min) in fields {
        if let Some(v) = value {
            if !(min..=MAX).contains(&v) {
                return Err(ManageError::field(
                    field,
                    format!("must be between {min} and {MAX} seconds"),
                ));
            }
            *slot = v;
        }
    }
    if let Some(ms) = l.script_time_limit_ms {
        if !(1..=Tenant::MAX_SCRIPT_TIME_LIMIT_MS).contains(&ms) {
            return Err(ManageError::field(
                "script_time_limit_ms",
                format!("must be between 1 and {}", Tenant::MAX_SCRIPT_TIME_LIMIT_MS),
            ));
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
    Ok(())
}

fn apply_attack(t: &mut Tenant, a: &AttackSettings) -> ManageResult<()> {
    let ap = &mut t.attack_protection;
    let limits: [(&'static str, Option<i64>, &mut i64, i64, i64); 5] = [
        (
            "management_rate_limit_per_minute",
            a.management_rate_limit_per_minute,
            &mut ap.management_rate_limit_per_minute,
            0,
            1_000_000,
        ),
        (
            "brute_force_max_attempts",
            a.brute_force_max_attempts,
            &mut ap.brute_force_max_attempts,
            1,
            10_000,
        ),
        (
            "suspicious_ip_max_attempts",
            a.suspicious_ip_max_attempts,
            &mut ap.suspicious_ip_max_attempts,
            1,
            10_000,
        ),
        (
            "token_rate_limit_per_minute",
            a.token_rate_limit_per_minute,
            &mut ap.token_rate_limit_per_minute,
            0,
            1_000_000,
        ),
        (
            "login_transactions_per_ip",
            a.login_transactions_per_ip,
            &mut ap.login_transactions_per_ip,
            1,
            1_000_000,
        ),
    ];
    for (field, value, slot, min, max) in limits {
        if let Some(v) = value {
            if !(min..=max).contains(&v) {
                return Err(ManageError::field(
                    field,
                    format!("must be between {min} and {max}"),
                ));
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
                .map_err(|e| ManageError::field("allowlist", e))?;
        }
        ap.allowlist = list;
    }
    Ok(())
}
