//! `commit_grant`: a grant's redemption and what it issues commit together or not at all.

use tessera_core::{
    Store, StoreError,
    model::ArtifactKind,
    store::{GrantWrite, Redeem, RedeemHow},
};

use super::{T, artifact, futures_join_all};

const RT: ArtifactKind = ArtifactKind::RefreshToken;
const AT: ArtifactKind = ArtifactKind::AccessToken;

fn redeem(hash: &str, how: RedeemHow, now: i64) -> Redeem<'_> {
    Redeem {
        kind: RT,
        id_hash: hash,
        how,
        now,
    }
}

async fn exists(s: &dyn Store, kind: ArtifactKind, hash: &str) -> bool {
    s.artifact(T, kind, hash).await.unwrap().is_some()
}

pub(crate) async fn grants_commit_their_redemption_and_tokens_together(s: &dyn Store) {
    s.insert_artifact(&artifact(RT, "old", "fam", 1_000))
        .await
        .unwrap();
    let issued = [
        artifact(AT, "at-1", "fam", 500),
        artifact(RT, "new-1", "fam", 1_000),
    ];
    let rotate = |hash, how, issue| GrantWrite {
        tenant: T,
        redeem: Some(redeem(hash, how, 200)),
        issue,
    };
    // Consume: the source is marked, the new rows land.
    assert!(
        s.commit_grant(&rotate("old", RedeemHow::Consume, &issued))
            .await
            .unwrap()
    );
    let old = s.artifact(T, RT, "old").await.unwrap().unwrap();
    assert_eq!(old.consumed_at, Some(200));
    assert!(exists(s, AT, "at-1").await && exists(s, RT, "new-1").await);

    // Consumed already: nothing is written.
    let again = [artifact(AT, "at-2", "fam", 500)];
    assert!(
        !s.commit_grant(&rotate("old", RedeemHow::Consume, &again))
            .await
            .unwrap()
    );
    assert!(!exists(s, AT, "at-2").await);

    // Reuse of the consumed token (inside a reuse interval) writes, and leaves it consumed.
    assert!(
        s.commit_grant(&rotate("old", RedeemHow::Reuse, &again))
            .await
            .unwrap()
    );
    assert!(exists(s, AT, "at-2").await);
    let old = s.artifact(T, RT, "old").await.unwrap().unwrap();
    assert_eq!(old.consumed_at, Some(200));
    // Reuse of a token never consumed is no reuse.
    assert!(
        !s.commit_grant(&rotate("new-1", RedeemHow::Reuse, &[]))
            .await
            .unwrap()
    );

    // The family revoked: neither consumption nor reuse writes anything.
    s.delete_family(T, "fam").await.unwrap();
    let late = [artifact(AT, "at-3", "fam", 500)];
    for how in [RedeemHow::Consume, RedeemHow::Reuse] {
        assert!(!s.commit_grant(&rotate("old", how, &late)).await.unwrap());
    }
    assert!(!exists(s, AT, "at-3").await);

    // Expired: not redeemed.
    s.insert_artifact(&artifact(RT, "stale", "fam2", 150))
        .await
        .unwrap();
    assert!(
        !s.commit_grant(&rotate("stale", RedeemHow::Consume, &late))
            .await
            .unwrap()
    );
    assert!(!exists(s, AT, "at-3").await);

    // Nothing to redeem (a password grant): the rows land.
    let fresh = [artifact(AT, "at-4", "fam3", 500)];
    let plain = GrantWrite {
        tenant: T,
        redeem: None,
        issue: &fresh,
    };
    assert!(s.commit_grant(&plain).await.unwrap());
    assert!(exists(s, AT, "at-4").await);
    // Nor anything to store (a JWT access token, no refresh token): nothing to do.
    let nothing = GrantWrite {
        issue: &[],
        ..plain
    };
    assert!(s.commit_grant(&nothing).await.unwrap());
    // A redemption that issues no row (a code for a JWT, no refresh token) still consumes.
    s.insert_artifact(&artifact(RT, "bare", "fam4", 1_000))
        .await
        .unwrap();
    let bare = GrantWrite {
        tenant: T,
        redeem: Some(redeem("bare", RedeemHow::Consume, 200)),
        issue: &[],
    };
    assert!(s.commit_grant(&bare).await.unwrap());
    assert!(!s.commit_grant(&bare).await.unwrap());
    let spent = s.artifact(T, RT, "bare").await.unwrap().unwrap();
    assert_eq!(spent.consumed_at, Some(200));
}

pub(crate) async fn a_grant_that_fails_to_store_a_token_does_not_spend_its_source(s: &dyn Store) {
    s.insert_artifact(&artifact(RT, "src", "fam", 1_000))
        .await
        .unwrap();
    s.insert_artifact(&artifact(AT, "taken", "other", 500))
        .await
        .unwrap();
    // The second issued row collides with an existing one: the whole grant fails.
    let issued = [
        artifact(RT, "new", "fam", 1_000),
        artifact(AT, "taken", "fam", 500),
    ];
    let write = GrantWrite {
        tenant: T,
        redeem: Some(redeem("src", RedeemHow::Consume, 200)),
        issue: &issued,
    };
    assert!(matches!(
        s.commit_grant(&write).await,
        Err(StoreError::Conflict(_))
    ));
    let src = s.artifact(T, RT, "src").await.unwrap().unwrap();
    assert_eq!(src.consumed_at, None, "the source stays unspent");
    assert!(!exists(s, RT, "new").await);
    // And the store goes on: the same redemption without the collision lands.
    let issued = [artifact(RT, "new", "fam", 1_000)];
    let write = GrantWrite {
        issue: &issued,
        ..write
    };
    assert!(s.commit_grant(&write).await.unwrap());
}

pub(crate) async fn racing_grant_commits_get_one_success(s: &dyn Store) {
    for i in 0..20 {
        let hash = format!("race-{i}");
        s.insert_artifact(&artifact(RT, &hash, "g", 10_000))
            .await
            .unwrap();
        let rows: Vec<_> = (0..8)
            .map(|k| [artifact(AT, &format!("at-{i}-{k}"), "g", 10_000)])
            .collect();
        let attempts = rows.iter().map(|issue| {
            let w = GrantWrite {
                tenant: T,
                redeem: Some(redeem(&hash, RedeemHow::Consume, 200)),
                issue,
            };
            async move { s.commit_grant(&w).await }
        });
        let results = futures_join_all(attempts).await;
        let wins = results.iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(wins, 1, "exactly one of 8 racing redemptions wins");
        let mut stored = 0;
        for k in 0..8 {
            stored += exists(s, AT, &format!("at-{i}-{k}")).await as usize;
        }
        assert_eq!(stored, 1, "only the winner's token is stored");
    }
}
