//! The account's users (user provisioning API, scope `settings.users.read`):
//! who may change the app's settings is decided by whether HubSpot says the
//! signed user is a super admin.

use serde::Deserialize;

use super::{
    client::{ApiRequest, PortalClient},
    error::HubspotError,
};

/// A user of the portal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubspotUser {
    /// User id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Whether the user is a super admin of the portal.
    #[serde(default)]
    pub super_admin: bool,
}

impl PortalClient {
    /// The user with id `user_id`; `None` when the portal has no such user.
    pub async fn user(&self, user_id: &str) -> Result<Option<HubspotUser>, HubspotError> {
        self.find_user(user_request(user_id)).await
    }

    /// The user with `email`; `None` when the portal has no such user.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<HubspotUser>, HubspotError> {
        self.find_user(user_request(email).query("idProperty", "EMAIL"))
            .await
    }

    async fn find_user(&self, request: ApiRequest) -> Result<Option<HubspotUser>, HubspotError> {
        match self.call(request).await {
            Ok((_, user)) => Ok(Some(user)),
            Err(HubspotError::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// `GET /settings/users/2026-03/{key}`, the key percent-encoded.
fn user_request(key: &str) -> ApiRequest {
    let key: String = url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
    ApiRequest::get(format!("/settings/users/2026-03/{key}"))
}
