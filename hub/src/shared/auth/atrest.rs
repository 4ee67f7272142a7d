//! What accounts do to a field hub's encryption at rest (issue 19, `shared::unlock`): the first officer or
//! admin password protects the data; a login, password change or reset keeps that user's copy of the data
//! key current; disabling an account removes its copy. Runs off the async threads (argon2id, and on the
//! first protection the encryption of the whole database); a failure is logged and tried again at the next
//! login: the account change itself stands.

use super::Role;
use crate::shared::state::AppState;
use crate::shared::unlock;
use crate::shared::vault::keyring::{self, Holder};

/// Protects the hub or refreshes `user_id`'s copy after its password was proven or set to `password`.
pub(super) async fn after_password(
    st: &AppState,
    user_id: &str,
    name: &str,
    role: Role,
    password_hash: &str,
    password: &str,
) {
    if !unlock::role_unlocks(role.as_str()) || st.mode != protocol::HubMode::Field {
        return;
    }
    let (db, mode, hub_name) = (st.db.clone(), st.mode, st.name.clone());
    let (id, key, hash, pw) = (
        user_id.to_string(),
        keyring::name_key(name),
        password_hash.to_string(),
        password.to_string(),
    );
    let r = tokio::task::spawn_blocking(move || {
        unlock::after_password(
            &db,
            mode,
            &hub_name,
            &Holder {
                user_id: &id,
                name_key: &key,
                role: role.as_str(),
                password_hash: &hash,
            },
            &pw,
        )
    })
    .await;
    match r {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "encryption at rest: could not protect the data or refresh a key copy; tried again at the next login")
        }
        Err(e) => tracing::error!(error = %e, "encryption at rest: the key upkeep task failed"),
    }
}

/// Removes a disabled account's copy of the data key: its password no longer unlocks the hub.
pub(super) fn account_disabled(st: &AppState, user_id: &str) {
    let data = unlock::data_of(&st.db);
    if let Err(e) = keyring::remove(&data, user_id) {
        tracing::error!(error = %e, "encryption at rest: could not remove a disabled account's key copy");
    }
}
