//! A portal's OAuth tokens, sealed in the `portals` row: the HubSpot client
//! loads them from here and saves refreshed ones back.

use chrono::Utc;
use futures::future::BoxFuture;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::{Store, entities::portal};
use crate::{
    crypto::{Cipher, SealedFor},
    hubspot::{AccessEvent, Hubspot, PortalClient, TokenStore, Tokens},
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
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| self.cipher.seal(t, refresh_token_slot(self.portal_id)));
        portal::Entity::update_many()
            .col_expr(
                portal::Column::AccessTokenEnc,
                Expr::value(Some(
                    self.cipher
                        .seal(&tokens.access_token, access_token_slot(self.portal_id)),
                )),
            )
            .col_expr(portal::Column::RefreshTokenEnc, Expr::value(refresh))
            .col_expr(
                portal::Column::TokenExpiresAt,
                Expr::value(tokens.expires_at),
            )
            // Fresh tokens: the access works (again).
            .col_expr(
                portal::Column::DegradedSince,
                Expr::value(None::<chrono::DateTime<Utc>>),
            )
            .col_expr(portal::Column::DegradedReason, Expr::value(None::<String>))
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
        let open = |sealed: &str, slot| self.cipher.open(sealed, slot).map_err(|e| e.to_string());
        Ok(Tokens {
            access_token: open(access, access_token_slot(self.portal_id))?,
            refresh_token: row
                .refresh_token_enc
                .as_deref()
                .map(|sealed| open(sealed, refresh_token_slot(self.portal_id)))
                .transpose()?,
            expires_at: row.token_expires_at,
        })
    }
}

/// Where a portal's access token is sealed: `portals.access_token_enc`.
pub fn access_token_slot(portal_id: i64) -> SealedFor {
    SealedFor {
        table: "portals",
        column: "access_token_enc",
        portal_id,
    }
}

/// Where a portal's refresh token is sealed: `portals.refresh_token_enc`.
pub fn refresh_token_slot(portal_id: i64) -> SealedFor {
    SealedFor {
        table: "portals",
        column: "refresh_token_enc",
        portal_id,
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

    /// Only a revoked refresh token disconnects the portal (as uninstalled:
    /// see `Store::mark_uninstalled`); a refresh that
    /// may pass leaves it connected and degraded; missing scopes are shown
    /// on the portal.
    fn note(&self, event: AccessEvent) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let result = match &event {
                AccessEvent::Revoked(reason) => {
                    self.store
                        .mark_uninstalled(
                            self.portal_id,
                            &format!(
                                "HubSpot revocó el acceso de la app (desinstalada o acceso retirado): {reason}. Vuelve a instalarla."
                            ),
                        )
                        .await
                }
                AccessEvent::RefreshFailed(reason) => {
                    self.store.mark_portal_degraded(self.portal_id, reason).await
                }
                AccessEvent::MissingScopes(scopes) => {
                    self.store
                        .record_missing_scopes(self.portal_id, scopes)
                        .await
                }
            };
            if let Err(err) = result {
                tracing::error!(portal_id = self.portal_id, error = %err, ?event, "could not record the portal's HubSpot access");
            }
        })
    }
}
