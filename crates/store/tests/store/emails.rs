//! One mailbox, one user: emails are compared by their mailbox key (NFC, lower case, the
//! domain in IDNA ASCII form), whichever way they were typed.

use super::*;

pub(crate) async fn one_mailbox_is_one_user_however_its_email_is_typed(s: &dyn Store) {
    let nfc = "jos\u{e9}@b\u{fc}cher.example";
    let nfd = "JOSE\u{301}@xn--bcher-kva.example";
    s.insert_user(&user("auth0|1", nfc)).await.unwrap();
    assert!(matches!(
        s.insert_user(&user("auth0|2", nfd)).await,
        Err(StoreError::Conflict(_))
    ));
    let found = s.user_by_email(T, nfd).await.unwrap().unwrap();
    assert_eq!(found.user_id, "auth0|1");
    s.insert_user(&user("auth0|3", "other@example.com"))
        .await
        .unwrap();
    let mut taken = s.user(T, "auth0|3").await.unwrap().unwrap();
    taken.email = nfd.into();
    assert!(matches!(
        s.update_user(&taken).await,
        Err(StoreError::Conflict(_))
    ));
}
