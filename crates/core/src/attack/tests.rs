//! The attack-protection rules against the in-memory store and a fixed clock: Auth0's
//! defaults (10 failures in a row per email and IP, 100 failures per IP in 24 hours), what lifts
//! a block, and the token rate limit's window.

use super::*;
use crate::manage::Manager;
use crate::{
    FixedClock,
    clock::Clock,
    login::{self, LoginFailure},
    manage,
    memory::MemoryStore,
    model::User,
    secret::Secret,
    store::{CounterStore, TenantStore},
};

const IP: &str = "203.0.113.7";
const OTHER_IP: &str = "198.51.100.20";
const EMAIL: &str = "ann@example.com";
const PASSWORD: &str = "correct horse";

struct W {
    store: MemoryStore,
    clock: FixedClock,
    master: crate::keys::MasterKey,
    tenant: Tenant,
    user: User,
}

async fn world() -> W {
    let store = MemoryStore::new();
    let clock = FixedClock::new(1_800_000_000);
    let master = crate::keys::MasterKey::generate();
    let tenant = manage::ensure_tenant(
        &store,
        &master,
        &clock,
        "default",
        Some("https://id.example.com"),
        "x",
        false,
    )
    .await
    .unwrap();
    let spec = manage::UserSpec {
        email: Some(EMAIL.into()),
        password: Some(Secret::new(PASSWORD)),
        ..Default::default()
    };
    let user = Manager::operator(&store, &clock, &master, "default")
        .create_user(&spec, |p| crate::password::hash(&p))
        .await
        .unwrap();
    W {
        store,
        clock,
        master,
        tenant,
        user,
    }
}

impl W {
    async fn sign_in(&self, email: &str, password: &str, ip: &str) -> Result<User, LoginFailure> {
        login::check_password(
            &self.store,
            &self.tenant,
            email,
            password,
            ip,
            self.clock.now(),
        )
        .await
    }

    /// Failures counted as the login page counts them, without spending a hash each.
    async fn fail(&self, email: &str, ip: &str, times: usize) {
        for _ in 0..times {
            sign_in_failed(&self.store, &self.tenant, email, ip, self.clock.now())
                .await
                .unwrap();
        }
    }

    async fn reload(&mut self) {
        self.tenant = self.store.tenant("default").await.unwrap().unwrap();
    }
}

fn refusal(r: Result<User, LoginFailure>) -> Refusal {
    match r {
        Err(LoginFailure::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn ten_failures_in_a_row_block_the_email_from_that_ip_for_30_days() {
    let w = world().await;
    for i in 0..10 {
        assert!(
            matches!(
                w.sign_in(EMAIL, "wrong password", IP).await,
                Err(LoginFailure::WrongCredentials)
            ),
            "failure {i} is a wrong password"
        );
    }
    // The right password no longer helps from that IP.
    let r = refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    assert_eq!(
        r,
        Refusal::BruteForce {
            retry_after: BRUTE_FORCE_BLOCK
        }
    );
    // Another IP, and another email from the same IP, are not blocked.
    assert!(w.sign_in(EMAIL, PASSWORD, OTHER_IP).await.is_ok());
    w.clock.advance(BRUTE_FORCE_BLOCK - 1);
    assert!(matches!(
        refusal(w.sign_in(EMAIL, PASSWORD, IP).await),
        Refusal::BruteForce { retry_after: 1 }
    ));
    w.clock.advance(1);
    assert!(
        w.sign_in(EMAIL, PASSWORD, IP).await.is_ok(),
        "30 days later"
    );
}

#[tokio::test]
async fn a_success_restarts_the_count_so_only_failures_in_a_row_block() {
    let w = world().await;
    w.fail(EMAIL, IP, 9).await;
    assert!(w.sign_in(EMAIL, PASSWORD, IP).await.is_ok());
    w.fail(EMAIL, IP, 9).await;
    assert!(
        w.sign_in(EMAIL, PASSWORD, IP).await.is_ok(),
        "9 + 9 is not 10 in a row"
    );
    w.fail(EMAIL, IP, 10).await;
    refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
}

#[tokio::test]
async fn unknown_emails_are_counted_and_blocked_the_same_way() {
    let w = world().await;
    let ghost = "nobody@example.com";
    for _ in 0..10 {
        assert!(matches!(
            w.sign_in(ghost, "whatever1", IP).await,
            Err(LoginFailure::WrongCredentials)
        ));
    }
    assert!(matches!(
        refusal(w.sign_in(ghost, "whatever1", IP).await),
        Refusal::BruteForce { .. }
    ));
    // Case and surrounding spaces do not make a new email.
    assert!(matches!(
        refusal(w.sign_in(" NOBODY@example.com ", "whatever1", IP).await),
        Refusal::BruteForce { .. }
    ));
}

#[tokio::test]
async fn an_admin_unblock_or_a_new_password_lifts_the_block() {
    let w = world().await;
    w.fail(EMAIL, IP, 10).await;
    w.fail(EMAIL, OTHER_IP, 10).await;
    refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_user_blocked(EMAIL, false)
        .await
        .unwrap();
    assert!(w.sign_in(EMAIL, PASSWORD, IP).await.is_ok());
    assert!(
        w.sign_in(EMAIL, PASSWORD, OTHER_IP).await.is_ok(),
        "from every IP"
    );

    w.fail(EMAIL, IP, 10).await;
    refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    let spec = manage::UserSpec {
        password: Some(Secret::new("battery staple")),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .update_user(&w.user.user_id, &spec, |p| crate::password::hash(&p))
        .await
        .unwrap();
    assert!(w.sign_in(EMAIL, "battery staple", IP).await.is_ok());

    // A change that is not a password leaves the block.
    w.fail(EMAIL, IP, 10).await;
    let spec = manage::UserSpec {
        name: Some("Ann".into()),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .update_user(EMAIL, &spec, |_| unreachable!())
        .await
        .unwrap();
    refusal(w.sign_in(EMAIL, "battery staple", IP).await);
}

#[tokio::test]
async fn a_hundred_failures_from_one_ip_in_a_day_throttle_it_until_the_window_ends() {
    let w = world().await;
    // 99 failures spread over many emails (a credential-stuffing run), an hour in.
    for i in 0..99 {
        w.fail(&format!("user{i}@example.com"), IP, 1).await;
    }
    w.clock.advance(3_600);
    assert!(matches!(
        w.sign_in("user99@example.com", "nope-nope", IP).await,
        Err(LoginFailure::WrongCredentials)
    ));
    let r = refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    assert_eq!(
        r,
        Refusal::SuspiciousIp {
            retry_after: SUSPICIOUS_IP_WINDOW - 3_600
        }
    );
    assert_eq!(r.oauth_error().code, crate::ErrorCode::TooManyAttempts);
    assert_eq!(
        r.oauth_error().retry_after,
        Some(SUSPICIOUS_IP_WINDOW - 3_600)
    );
    // Other IPs are untouched; a success does not reset the throttled IP.
    assert!(w.sign_in(EMAIL, PASSWORD, OTHER_IP).await.is_ok());
    w.clock.advance(SUSPICIOUS_IP_WINDOW - 3_600 - 1);
    refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    w.clock.advance(1);
    assert!(
        w.sign_in(EMAIL, PASSWORD, IP).await.is_ok(),
        "the window is over"
    );
}

#[tokio::test]
async fn failures_older_than_the_window_do_not_add_up() {
    let w = world().await;
    for i in 0..99 {
        w.fail(&format!("user{i}@example.com"), IP, 1).await;
    }
    w.clock.advance(SUSPICIOUS_IP_WINDOW);
    w.fail("late@example.com", IP, 1).await;
    assert!(w.sign_in(EMAIL, PASSWORD, IP).await.is_ok());
}

#[tokio::test]
async fn the_limits_are_per_tenant_settings_and_can_be_turned_off() {
    let mut w = world().await;
    let settings = manage::AttackSettings {
        brute_force_max_attempts: Some(3),
        suspicious_ip_max_attempts: Some(5),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_attack_protection(&settings)
        .await
        .unwrap();
    w.reload().await;
    w.fail(EMAIL, IP, 3).await;
    assert!(matches!(
        refusal(w.sign_in(EMAIL, PASSWORD, IP).await),
        Refusal::BruteForce { .. }
    ));
    w.fail("b@example.com", IP, 2).await;
    assert!(matches!(
        refusal(w.sign_in("c@example.com", PASSWORD, IP).await),
        Refusal::SuspiciousIp { .. }
    ));

    let off = manage::AttackSettings {
        brute_force: Some(false),
        suspicious_ip_throttling: Some(false),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_attack_protection(&off)
        .await
        .unwrap();
    w.reload().await;
    assert!(w.sign_in(EMAIL, PASSWORD, IP).await.is_ok());

    for bad in [0, -1, 10_001] {
        let s = manage::AttackSettings {
            brute_force_max_attempts: Some(bad),
            ..Default::default()
        };
        assert!(
            Manager::operator(&w.store, &w.clock, &w.master, "default")
                .set_attack_protection(&s)
                .await
                .is_err()
        );
    }
    let s = manage::AttackSettings {
        token_rate_limit_per_minute: Some(-5),
        ..Default::default()
    };
    assert!(
        Manager::operator(&w.store, &w.clock, &w.master, "default")
            .set_attack_protection(&s)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_blocked_pair_spends_no_hash_and_does_not_count_again() {
    let w = world().await;
    w.fail(EMAIL, IP, 10).await;
    let before = w
        .store
        .counter("default", CounterKind::Ip, "", IP)
        .await
        .unwrap()
        .unwrap();
    refusal(w.sign_in(EMAIL, PASSWORD, IP).await);
    let after = w
        .store
        .counter("default", CounterKind::Ip, "", IP)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_token_rate_limit_is_off_by_default_then_counts_per_application_per_minute() {
    let mut w = world().await;
    for _ in 0..1_000 {
        token_request(&w.store, &w.tenant, "app-a", w.clock.now())
            .await
            .unwrap();
    }
    let s = manage::AttackSettings {
        token_rate_limit_per_minute: Some(3),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_attack_protection(&s)
        .await
        .unwrap();
    w.reload().await;
    w.clock.advance(10);
    for _ in 0..3 {
        token_request(&w.store, &w.tenant, "app-b", w.clock.now())
            .await
            .unwrap();
    }
    w.clock.advance(20);
    let e = token_request(&w.store, &w.tenant, "app-b", w.clock.now())
        .await
        .unwrap_err();
    assert_eq!(e.code, crate::ErrorCode::TooManyRequests);
    assert_eq!(e.code.http_status(), 429);
    assert_eq!(e.retry_after, Some(TOKEN_RATE_WINDOW - 20));
    // Another application has its own quota.
    token_request(&w.store, &w.tenant, "app-c", w.clock.now())
        .await
        .unwrap();
    w.clock.advance(TOKEN_RATE_WINDOW - 20);
    token_request(&w.store, &w.tenant, "app-b", w.clock.now())
        .await
        .unwrap();
}

#[tokio::test]
async fn allowlisted_addresses_are_never_counted_nor_refused() {
    let mut w = world().await;
    let s = manage::AttackSettings {
        allowlist: Some(vec!["203.0.113.0/24".into(), " ".into()]),
        ..Default::default()
    };
    Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_attack_protection(&s)
        .await
        .unwrap();
    w.reload().await;
    assert_eq!(w.tenant.attack_protection.allowlist, vec!["203.0.113.0/24"]);
    w.fail(EMAIL, IP, 200).await;
    assert!(w.sign_in(EMAIL, PASSWORD, IP).await.is_ok());
    assert_eq!(
        w.store
            .counter("default", CounterKind::Ip, "", IP)
            .await
            .unwrap(),
        None
    );
    w.fail(EMAIL, OTHER_IP, 10).await;
    refusal(w.sign_in(EMAIL, PASSWORD, OTHER_IP).await);
    let bad = manage::AttackSettings {
        allowlist: Some(vec!["10.0.0.0/40".into()]),
        ..Default::default()
    };
    let e = Manager::operator(&w.store, &w.clock, &w.master, "default")
        .set_attack_protection(&bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("10.0.0.0/40"), "{e}");
}
