//! Who may change a portal's settings: its super admins, as HubSpot's user
//! provisioning API says (the answer cached briefly), and the users a super
//! admin allowed on the settings page. Everyone in the portal may read them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::FieldErrors;
use crate::{
    hubspot::{HubspotError, PortalClient},
    i18n::spanish_part,
};

/// How long HubSpot's answer to "is this user a super admin?" is reused.
pub const SUPER_ADMIN_TTL: Duration = Duration::from_secs(60);

/// Most users a portal may allow besides its super admins.
pub const MAX_ALLOWED_EDITORS: usize = 50;

/// Why a user may not change the settings, for the 403 and the page.
pub const ONLY_ADMINS: &str = "Solo los superadministradores de este portal de HubSpot, y los usuarios que ellos autoricen aquí, pueden cambiar la configuración. Pide a un superadministrador que la cambie o que te autorice.";

/// A user allowed to change the settings besides the super admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowedEditor {
    /// HubSpot user id.
    pub user_id: String,
    /// Email, when HubSpot gave one.
    pub email: Option<String>,
}

/// Reads the stored list (`settings.allowed_editors`); unreadable counts as empty.
pub fn allowed_editors(stored: Option<&str>) -> Vec<AllowedEditor> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// What the signed user may do with the settings (`access` in the view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsAccess {
    /// Whether this user may save.
    pub can_edit: bool,
    /// Whether this user is a super admin (and may change `allowed_editors`).
    pub super_admin: bool,
    /// Users allowed besides the super admins.
    pub allowed_editors: Vec<AllowedEditor>,
    /// Why this user may not save, in Spanish.
    pub message: Option<String>,
}

/// HubSpot's recent answers to "is user U of portal P a super admin?", shared
/// by the web handlers of one process; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct SuperAdminCache(Arc<Mutex<Answers>>);

/// (portal, user) → (is a super admin, when HubSpot said so).
type Answers = HashMap<(i64, u64), (bool, Instant)>;

impl SuperAdminCache {
    /// Whether `user_id` is a super admin of the client's portal, asking
    /// HubSpot unless a fresh answer is cached. An unknown user is not one.
    pub async fn is_super_admin(
        &self,
        client: &PortalClient,
        user_id: u64,
    ) -> Result<bool, HubspotError> {
        let key = (client.portal_id() as i64, user_id);
        if let Some((answer, at)) = self.lock().get(&key).copied()
            && at.elapsed() < SUPER_ADMIN_TTL
        {
            return Ok(answer);
        }
        let answer = client
            .user(&user_id.to_string())
            .await?
            .is_some_and(|user| user.super_admin);
        self.lock().insert(key, (answer, Instant::now()));
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Answers> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What `user_id` may do with the settings whose stored allowed list is
/// `stored`. A failure to ask HubSpot leaves the user a non-admin and says why.
pub async fn settings_access(
    cache: &SuperAdminCache,
    client: &PortalClient,
    stored: Option<&str>,
    user_id: u64,
) -> SettingsAccess {
    let allowed_editors = allowed_editors(stored);
    let allowed = allowed_editors
        .iter()
        .any(|e| e.user_id == user_id.to_string());
    let (super_admin, failure) = match cache.is_super_admin(client, user_id).await {
        Ok(answer) => (answer, None),
        Err(HubspotError::MissingScopes { .. }) => (
            false,
            Some("No se pudo comprobar si eres superadministrador: la instalación de la app no tiene el permiso de leer usuarios (settings.users.read). Un superadministrador debe volver a instalar la app para concederlo.".to_owned()),
        ),
        Err(err) => (
            false,
            Some(format!(
                "No se pudo comprobar ahora si eres superadministrador ({}). Inténtalo de nuevo en unos minutos.",
                spanish_part(&err.to_string())
            )),
        ),
    };
    let can_edit = super_admin || allowed;
    SettingsAccess {
        can_edit,
        super_admin,
        allowed_editors,
        message: (!can_edit).then(|| failure.unwrap_or_else(|| ONLY_ADMINS.to_owned())),
    }
}

/// Resolves the emails or user ids a super admin typed to the portal's users;
/// each one HubSpot does not know is refused on the `allowedEditors` field.
pub(super) async fn resolve_editors(
    client: &PortalClient,
    entries: &[String],
    errors: &mut FieldErrors,
) -> Result<Vec<AllowedEditor>, HubspotError> {
    let mut resolved: Vec<AllowedEditor> = Vec::new();
    let mut unknown = Vec::new();
    for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let user = if entry.bytes().all(|b| b.is_ascii_digit()) {
            client.user(entry).await?
        } else {
            client.user_by_email(entry).await?
        };
        match user {
            Some(user) if !resolved.iter().any(|e| e.user_id == user.id) => {
                resolved.push(AllowedEditor {
                    user_id: user.id,
                    email: Some(user.email),
                });
            }
            Some(_) => {}
            None => unknown.push(entry.to_owned()),
        }
    }
    if !unknown.is_empty() {
        errors.add(
            "allowedEditors",
            format!(
                "Estos usuarios no existen en este portal de HubSpot: {}.",
                unknown.join(", ")
            ),
        );
    } else if resolved.len() > MAX_ALLOWED_EDITORS {
        errors.add(
            "allowedEditors",
            format!("Autoriza como mucho a {MAX_ALLOWED_EDITORS} usuarios."),
        );
    }
    Ok(resolved)
}
