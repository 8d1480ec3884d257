//! A portal's OAuth tokens, sealed in the `portals` row: the HubSpot client
//! loads them from here and saves refreshed ones back.

use chrono::Utc;
use futures::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{Store, entities::portal};
use crate::{
    crypto::Cipher,
    hubspot::{Hubspot, PortalClient, TokenStore, Tokens},
};

/// Token storage for one portal.
#[derive(Clone, Debug)]
pub struct PortalTokens {
    store: Store,
    cipher: Cipher,
    portal_id: i64,
}

impl PortalTokens {
    /// Tokens of `portal_id`, sealed with `cipher`.
    pub fn new(store: Store, cipher: Cipher, portal_id: i64) -> Self {
        Self {
            store,
            cipher,
            portal_id,
        }
    }

    /// Seals and writes `tokens` (creating nothing: the portal row must exist).
    pub async fn write(&self, tokens: &Tokens) -> Result<(), String> {
        let refresh = tokens.refresh_token.as_ref().map(|t| self.cipher.seal(t));
        portal::Entity::update_many()
            .col_expr(
                portal::Column::AccessTokenEnc,
                Expr::value(Some(self.cipher.seal(&tokens.access_token))),
            )
            .col_expr(portal::Column::RefreshTokenEnc, Expr::value(refresh))
            .col_expr(
                portal::Column::TokenExpiresAt,
                Expr::value(tokens.expires_at),
            )
            .col_expr(portal::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(portal::Column::Id.eq(self.portal_id))
            .exec(self.store.db())
            .await
            .map(|_| ())
            .map_err(|e| format!("no se pudieron guardar los tokens: {e}"))
    }

    async fn read(&self) -> Result<Tokens, String> {
        let row = portal::Entity::find_by_id(self.portal_id)
            .one(self.store.db())
            .await
            .map_err(|e| format!("no se pudieron leer los tokens: {e}"))?
            .ok_or_else(|| format!("el portal {} no está instalado", self.portal_id))?;
        let access = row
            .access_token_enc
            .as_deref()
            .ok_or_else(|| format!("el portal {} no tiene tokens", self.portal_id))?;
        let open = |sealed: &str| self.cipher.open(sealed).map_err(|e| e.to_string());
        Ok(Tokens {
            access_token: open(access)?,
            refresh_token: row.refresh_token_enc.as_deref().map(open).transpose()?,
            expires_at: row.token_expires_at,
        })
    }
}

/// A HubSpot client for `portal_id` whose tokens are the portal's sealed ones.
pub fn portal_client(
    hubspot: &Hubspot,
    store: &Store,
    cipher: &Cipher,
    portal_id: i64,
) -> PortalClient {
    let tokens = PortalTokens::new(store.clone(), cipher.clone(), portal_id);
    hubspot.portal(portal_id as u64, std::sync::Arc::new(tokens))
}

impl TokenStore for PortalTokens {
    fn load(&self) -> BoxFuture<'_, Result<Tokens, String>> {
        Box::pin(self.read())
    }

    fn save(&self, tokens: Tokens) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.write(&tokens).await })
    }
}
