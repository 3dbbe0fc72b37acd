//! Role assignments: one row per (user, role), in assignment order; deleting a role or a user
//! deletes its rows; and the migration that turned each user's array of role ids into rows.

use super::*;

pub(crate) async fn role_assignments_keep_order_and_cascade(s: &dyn Store) {
    for (id, name) in [("rol_1", "admin"), ("rol_2", "viewer"), ("rol_3", "editor")] {
        s.insert_role(&role(id, name)).await.unwrap();
    }
    s.insert_user(&user("auth0|a", "a@example.com"))
        .await
        .unwrap();
    s.insert_user(&user("auth0|b", "b@example.com"))
        .await
        .unwrap();
    let held = async |u: &str| -> Vec<String> {
        s.user_roles(T, u)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    };
    let ids = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    s.assign_roles(T, "auth0|a", &ids(&["rol_3", "rol_1"]))
        .await
        .unwrap();
    // Assigning again keeps the first place; a new one goes last.
    s.assign_roles(T, "auth0|a", &ids(&["rol_1", "rol_2"]))
        .await
        .unwrap();
    assert_eq!(held("auth0|a").await, ["rol_3", "rol_1", "rol_2"]);
    s.assign_roles(T, "auth0|b", &ids(&["rol_1"]))
        .await
        .unwrap();
    // Unknown user or role: NotFound, and nothing of the call is stored.
    assert!(matches!(
        s.assign_roles(T, "auth0|ghost", &ids(&["rol_1"])).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.assign_roles(T, "auth0|b", &ids(&["rol_2", "rol_9"]))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(held("auth0|b").await, ["rol_1"]);
    // Another tenant's user of the same id holds nothing.
    assert!(s.user_roles("t2", "auth0|a").await.unwrap().is_empty());
    // Unassigning ignores ids the user does not hold.
    s.unassign_roles(T, "auth0|a", &ids(&["rol_3", "rol_9"]))
        .await
        .unwrap();
    assert_eq!(held("auth0|a").await, ["rol_1", "rol_2"]);
    // Deleting a role takes it off every user, without touching the users.
    let before = s.user(T, "auth0|b").await.unwrap().unwrap();
    assert!(s.delete_role(T, "rol_1").await.unwrap());
    assert_eq!(held("auth0|a").await, ["rol_2"]);
    assert!(held("auth0|b").await.is_empty());
    assert_eq!(s.user(T, "auth0|b").await.unwrap().unwrap(), before);
    // A role created again under the old id starts with no users.
    s.insert_role(&role("rol_1", "admin")).await.unwrap();
    assert!(held("auth0|b").await.is_empty());
    // Deleting a user deletes its assignments.
    assert!(s.delete_user(T, "auth0|a").await.unwrap());
    s.insert_user(&user("auth0|a", "a@example.com"))
        .await
        .unwrap();
    assert!(held("auth0|a").await.is_empty());
}

/// Version 6 kept a user's role ids in its document. Laid down at version 6, migrated: the
/// arrays are rows in order, ids of deleted roles are dropped, the documents lose the array.
async fn v6_role_arrays_become_rows(store: &SqlStore) {
    store.migrate_to(6).await.unwrap();
    let user_doc = |id: &str, email: &str, roles: &str| {
        format!(
            "INSERT INTO users (tenant_id, user_id, email, data) VALUES ('t1', '{id}', '{email}', \
             '{{\"tenant_id\":\"t1\",\"user_id\":\"{id}\",\"email\":\"{email}\",\
             \"email_verified\":false,\"password_hash\":\"x\",\"roles\":{roles},\
             \"created_at\":1,\"updated_at\":1}}');"
        )
    };
    let role_doc = |id: &str, name: &str| {
        format!(
            "INSERT INTO roles (tenant_id, id, name, data) VALUES ('t1', '{id}', '{name}', \
             '{{\"tenant_id\":\"t1\",\"id\":\"{id}\",\"name\":\"{name}\",\"description\":\"\",\
             \"permissions\":[],\"created_at\":1,\"updated_at\":1}}');"
        )
    };
    let script = [
        "INSERT INTO tenants (id, data) VALUES ('t1', '{}');".to_owned(),
        role_doc("rol_a", "a"),
        role_doc("rol_b", "b"),
        user_doc(
            "auth0|1",
            "one@example.com",
            r#"["rol_b","rol_gone","rol_a"]"#,
        ),
        user_doc("auth0|2", "two@example.com", "[]"),
    ]
    .join("\n");
    store.run_script(&script).await.unwrap();
    store.migrate().await.unwrap();
    let held: Vec<String> = store
        .user_roles(T, "auth0|1")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(held, ["rol_b", "rol_a"]);
    assert!(store.user_roles(T, "auth0|2").await.unwrap().is_empty());
    let u = store.user(T, "auth0|1").await.unwrap().unwrap();
    assert_eq!(u.email, "one@example.com");
    // The array is gone from the stored document.
    let doc = store
        .user(T, "auth0|2")
        .await
        .unwrap()
        .map(|u| serde_json::to_string(&u).unwrap())
        .unwrap();
    assert!(!doc.contains("roles"), "{doc}");
}

#[tokio::test]
async fn sqlite_v6_role_arrays_become_rows() {
    let dir = tempfile::tempdir().unwrap();
    let url = tessera_store::DatabaseUrl::Sqlite(dir.path().join("v6.db"));
    let store = SqlStore::connect(&url).await.unwrap();
    v6_role_arrays_become_rows(&store).await;
}

#[tokio::test]
async fn postgres_v6_role_arrays_become_rows() {
    let Some(url) = pg_url() else { return };
    let scratch = ScratchSchema::create(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = SqlStore::connect(&scratch.url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    v6_role_arrays_become_rows(&store).await;
    store.close().await;
    scratch.drop().await;
}
