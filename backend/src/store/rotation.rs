//! `rotate-secrets`: every secret at rest re-sealed under the current
//! `HH_SECRET_KEY` (and in the current format), so the previous key can be
//! retired. Values already current are left alone; a value that opens under
//! neither key is reported, never overwritten.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, DbErr, EntityTrait, IntoActiveModel};

use super::{
    Store,
    entities::{holded_webhook, portal, settings},
    portal_tokens::{access_token_slot, refresh_token_slot},
};
use crate::{
    crypto::{Cipher, SealState, SealedFor},
    settings::{holded_key_slot, webhook_secret_slot},
};

/// What a rotation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Values re-sealed under the current key.
    pub resealed: usize,
    /// Values that were current already.
    pub current: usize,
    /// Where a value opens under neither key (`table.column` of a portal).
    pub unreadable: Vec<String>,
}

impl Rotation {
    /// `sealed` re-sealed under the current key when it is not, counted;
    /// `None` when it stays as it is.
    fn rotate(&mut self, cipher: &Cipher, sealed: &str, slot: SealedFor) -> Option<String> {
        match cipher.open_with_state(sealed, slot) {
            Ok((_, SealState::Current)) => {
                self.current += 1;
                None
            }
            Ok((secret, SealState::Stale)) => {
                self.resealed += 1;
                Some(cipher.seal(&secret, slot))
            }
            Err(err) => {
                tracing::error!(table = slot.table, column = slot.column, portal_id = slot.portal_id, error = %err, "a secret opens under neither key");
                self.unreadable.push(format!(
                    "{}.{} del portal {}",
                    slot.table, slot.column, slot.portal_id
                ));
                None
            }
        }
    }
}

impl Store {
    /// Re-seals every portal's tokens, Holded key and Holded webhook signing secret under `cipher`'s current key.
    pub async fn rotate_secrets(&self, cipher: &Cipher) -> Result<Rotation, DbErr> {
        let mut rotation = Rotation::default();
        for row in portal::Entity::find().all(self.db()).await? {
            let access = row
                .access_token_enc
                .as_deref()
                .and_then(|sealed| rotation.rotate(cipher, sealed, access_token_slot(row.id)));
            let refresh = row
                .refresh_token_enc
                .as_deref()
                .and_then(|sealed| rotation.rotate(cipher, sealed, refresh_token_slot(row.id)));
            if access.is_some() || refresh.is_some() {
                let mut active = row.clone().into_active_model();
                if let Some(access) = access {
                    active.access_token_enc = Set(Some(access));
                }
                if let Some(refresh) = refresh {
                    active.refresh_token_enc = Set(Some(refresh));
                }
                active.update(self.db()).await?;
            }
        }
        for row in settings::Entity::find().all(self.db()).await? {
            let key = row
                .holded_key_enc
                .as_deref()
                .and_then(|sealed| rotation.rotate(cipher, sealed, holded_key_slot(row.portal_id)));
            if let Some(key) = key {
                let mut active = row.clone().into_active_model();
                active.holded_key_enc = Set(Some(key));
                active.update(self.db()).await?;
            }
        }
        for row in holded_webhook::Entity::find().all(self.db()).await? {
            let secret = row.secret_enc.as_deref().and_then(|sealed| {
                rotation.rotate(cipher, sealed, webhook_secret_slot(row.portal_id))
            });
            if let Some(secret) = secret {
                let mut active = row.clone().into_active_model();
                active.secret_enc = Set(Some(secret));
                active.update(self.db()).await?;
            }
        }
        Ok(rotation)
    }
}
