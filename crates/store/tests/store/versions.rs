//! Versioned writes: a write made from an old read fails with `Stale` and changes nothing, for
//! every object that is read, changed and written back; `modify_user` changes the user as
//! stored, and racing changes all land.

use super::*;

/// Writes `a` and then `b`, both changed from the same read: the first lands, the second is
/// `Stale`, and the stored object is still the first.
macro_rules! second_write_is_stale {
    ($s:expr, $read:expr, $write:ident, $field:ident, $a:expr, $b:expr) => {{
        let read = $read;
        let (mut a, mut b) = (read.clone(), read.clone());
        a.$field = $a;
        b.$field = $b;
        $s.$write(&a).await.unwrap();
        let second = $s.$write(&b).await;
        assert!(
            matches!(second, Err(StoreError::Stale(_))),
            "a write from an old read must fail: {second:?}"
        );
    }};
}

pub(crate) async fn stale_writes_fail_and_change_nothing(s: &dyn Store) {
    second_write_is_stale!(
        s,
        s.tenant(T).await.unwrap().unwrap(),
        update_tenant,
        default_audience,
        Some("urn:a".into()),
        Some("urn:b".into())
    );
    let t = s.tenant(T).await.unwrap().unwrap();
    assert_eq!(t.default_audience.as_deref(), Some("urn:a"));
    assert_eq!(t.version, 1);

    s.insert_client(&client("c1")).await.unwrap();
    second_write_is_stale!(
        s,
        s.client(T, "c1").await.unwrap().unwrap(),
        update_client,
        disabled,
        true,
        false
    );
    let c = s.client(T, "c1").await.unwrap().unwrap();
    assert!(c.disabled, "the first write stays");
    assert_eq!(c.version, 1);

    s.insert_resource_server(&api("a1", "urn:one"))
        .await
        .unwrap();
    second_write_is_stale!(
        s,
        s.resource_server(T, "a1").await.unwrap().unwrap(),
        update_resource_server,
        name,
        "first".into(),
        "second".into()
    );
    assert_eq!(
        s.resource_server(T, "a1").await.unwrap().unwrap().name,
        "first"
    );

    s.insert_client_grant(&grant("g1", "c1", "urn:one"))
        .await
        .unwrap();
    second_write_is_stale!(
        s,
        s.client_grant(T, "c1", "urn:one").await.unwrap().unwrap(),
        update_client_grant,
        scope,
        vec![],
        vec!["read:x".into()]
    );
    let g = s.client_grant(T, "c1", "urn:one").await.unwrap().unwrap();
    assert!(g.scope.is_empty());

    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    second_write_is_stale!(
        s,
        s.user(T, "auth0|1").await.unwrap().unwrap(),
        update_user,
        blocked,
        true,
        false
    );
    assert!(s.user(T, "auth0|1").await.unwrap().unwrap().blocked);

    s.insert_role(&role("rol_1", "admin")).await.unwrap();
    second_write_is_stale!(
        s,
        s.role(T, "rol_1").await.unwrap().unwrap(),
        update_role,
        description,
        "first".into(),
        "second".into()
    );
    assert_eq!(
        s.role(T, "rol_1").await.unwrap().unwrap().description,
        "first"
    );

    s.insert_script(&script("scr_1", ScriptKind::Action, "a", 1))
        .await
        .unwrap();
    second_write_is_stale!(
        s,
        s.script(T, "scr_1").await.unwrap().unwrap(),
        update_script,
        enabled,
        true,
        false
    );
    assert!(s.script(T, "scr_1").await.unwrap().unwrap().enabled);

    // A write from the current version after a stale one lands.
    let mut u = s.user(T, "auth0|1").await.unwrap().unwrap();
    u.blocked = false;
    s.update_user(&u).await.unwrap();
    assert!(!s.user(T, "auth0|1").await.unwrap().unwrap().blocked);
}

pub(crate) async fn modify_user_changes_the_user_as_stored(s: &dyn Store) {
    s.insert_user(&user("auth0|1", "ann@example.com"))
        .await
        .unwrap();
    let old = s.user(T, "auth0|1").await.unwrap().unwrap();
    // An administrator blocks the user and changes the password after `old` was read.
    let mut admin = old.clone();
    admin.blocked = true;
    admin.password_hash = "$argon2id$new".into();
    s.update_user(&admin).await.unwrap();

    let count = |u: &mut User| {
        u.logins_count += 1;
        true
    };
    let after = s.modify_user(T, "auth0|1", &count).await.unwrap().unwrap();
    assert_eq!(after.logins_count, 1);
    let stored = s.user(T, "auth0|1").await.unwrap().unwrap();
    assert!(stored.blocked, "the block stays");
    assert_eq!(
        stored.password_hash, "$argon2id$new",
        "the new password stays"
    );
    assert_eq!(stored, after);
    assert_eq!(stored.version, 2);

    // A change that writes nothing leaves the version alone.
    let unchanged = s
        .modify_user(T, "auth0|1", &|_: &mut User| false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.version, 2);
    assert!(
        s.modify_user(T, "auth0|nobody", &count)
            .await
            .unwrap()
            .is_none()
    );

    // Racing changes all land (each runs on the user as the previous one left it).
    let racing = (0..16).map(|_| s.modify_user(T, "auth0|1", &count));
    for r in futures_join_all(racing).await {
        r.unwrap().unwrap();
    }
    let stored = s.user(T, "auth0|1").await.unwrap().unwrap();
    assert_eq!(stored.logins_count, 17);
    assert_eq!(stored.version, 18);
    assert!(stored.blocked);
}
