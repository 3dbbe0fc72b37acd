//! User search and pages: every filter of Auth0's search subset, each sort, offset windows,
//! and totals (the trigger-kept count when unfiltered, a count of the matches otherwise).

use super::*;
use tessera_core::model::{Match, SortKey, UserField, UserFilter, UserQuery, UserSort};

fn term(f: UserField, m: Match) -> UserFilter {
    UserFilter::Term(f, m)
}

async fn ids(s: &dyn Store, q: UserQuery) -> (Vec<String>, Option<u64>) {
    let page = s.search_users(T, &q).await.unwrap();
    (
        page.users.into_iter().map(|u| u.user_id).collect(),
        page.total,
    )
}

pub(crate) async fn user_search_filters_sorts_pages_and_counts(s: &dyn Store) {
    let people = [
        ("auth0|c", "carol@example.com", "Carol", false, "pro"),
        ("auth0|a", "ann@example.com", "Ann", true, "free"),
        ("auth0|b", "bob@example.org", "Bob", false, "pro"),
        ("auth0|d", "anna@example.com", "Anna", false, "5"),
    ];
    for (id, email, name, blocked, plan) in people {
        let mut u = user(id, email);
        u.name = Some(name.into());
        u.blocked = blocked;
        u.app_metadata = serde_json::Map::from_iter([(
            "plan".to_owned(),
            match plan.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => json!(plan),
            },
        )]);
        s.insert_user(&u).await.unwrap();
    }
    // Another tenant's user never shows.
    let mut other = user("auth0|x", "ann@example.com");
    other.tenant_id = "t2".into();
    s.insert_user(&other).await.unwrap();

    let all = UserQuery {
        total: true,
        ..Default::default()
    };
    assert_eq!(
        ids(s, all.clone()).await,
        (
            vec![
                "auth0|c".into(),
                "auth0|a".into(),
                "auth0|b".into(),
                "auth0|d".into()
            ],
            Some(4)
        ),
        "creation order, and the tenant's count"
    );
    let with = |filter: UserFilter| UserQuery {
        filter: Some(filter),
        total: true,
        ..Default::default()
    };
    // An exact email compares mailboxes (case and Unicode form aside).
    assert_eq!(
        ids(
            s,
            with(term(UserField::Email, Match::Is("ANN@Example.com".into())))
        )
        .await,
        (vec!["auth0|a".into()], Some(1))
    );
    assert_eq!(
        ids(s, with(term(UserField::Email, Match::Prefix("ann".into())))).await,
        (vec!["auth0|a".into(), "auth0|d".into()], Some(2))
    );
    assert_eq!(
        ids(s, with(term(UserField::Name, Match::Prefix("An".into()))))
            .await
            .0,
        ["auth0|a", "auth0|d"]
    );
    // Prefixes are case-sensitive on every backend.
    assert!(
        ids(s, with(term(UserField::Name, Match::Prefix("an".into()))))
            .await
            .0
            .is_empty()
    );
    assert_eq!(
        ids(s, with(term(UserField::Blocked, Match::Flag(true))))
            .await
            .0,
        ["auth0|a"]
    );
    assert_eq!(
        ids(s, with(term(UserField::Blocked, Match::Flag(false))))
            .await
            .1,
        Some(3)
    );
    let plan = |v: &str| term(UserField::AppMetadata("plan".into()), Match::Is(v.into()));
    assert_eq!(ids(s, with(plan("pro"))).await.0, ["auth0|c", "auth0|b"]);
    assert_eq!(
        ids(s, with(plan("5"))).await.0,
        ["auth0|d"],
        "numbers as text"
    );
    assert!(
        ids(
            s,
            with(term(
                UserField::AppMetadata("none".into()),
                Match::Is("x".into())
            ))
        )
        .await
        .0
        .is_empty()
    );
    assert_eq!(
        ids(
            s,
            with(term(UserField::UserId, Match::Is("auth0|b".into())))
        )
        .await
        .0,
        ["auth0|b"]
    );
    // AND / OR.
    let pro_or_blocked = UserFilter::Any(vec![
        plan("pro"),
        term(UserField::Blocked, Match::Flag(true)),
    ]);
    assert_eq!(ids(s, with(pro_or_blocked.clone())).await.1, Some(3));
    let pro_and_org = UserFilter::All(vec![
        plan("pro"),
        term(UserField::Email, Match::Prefix("bob@".into())),
    ]);
    assert_eq!(ids(s, with(pro_and_org)).await.0, ["auth0|b"]);
    // Sorts and windows.
    let sorted = |by, descending, offset, limit| UserQuery {
        sort: UserSort { by, descending },
        offset,
        limit,
        ..Default::default()
    };
    assert_eq!(
        ids(s, sorted(SortKey::Email, false, 0, 10)).await.0,
        ["auth0|a", "auth0|d", "auth0|b", "auth0|c"]
    );
    assert_eq!(
        ids(s, sorted(SortKey::UserId, true, 1, 2)).await.0,
        ["auth0|c", "auth0|b"]
    );
    assert_eq!(
        ids(s, sorted(SortKey::Created, false, 3, 10)).await.0,
        ["auth0|d"]
    );
    assert!(
        ids(s, sorted(SortKey::Created, false, 10, 10))
            .await
            .0
            .is_empty(),
        "past the end"
    );
    assert_eq!(
        ids(s, sorted(SortKey::Created, false, 0, 2)).await.1,
        None,
        "no total asked"
    );
    // The count follows deletes.
    assert!(s.delete_user(T, "auth0|c").await.unwrap());
    assert_eq!(ids(s, all.clone()).await.1, Some(3));
    assert_eq!(ids(s, with(plan("pro"))).await.1, Some(1));
}
