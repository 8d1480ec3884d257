// Who may change the settings: a notice for users who may only read them, and the super admin's list
// of users authorised to change them.
import { Alert, Divider, Heading, TextArea } from '@hubspot/ui-extensions';

/** The backend's message says who can change the settings; this one stands in when it sends none. */
const READ_ONLY_FALLBACK =
  'Solo los superadministradores del portal y los usuarios que ellos autoricen pueden cambiar esta configuración.';

/** Shown above the settings when the user may only read them. */
export const ReadOnlyNotice = ({ message }: { message: string | null }) => (
  <Alert title="Solo lectura" variant="info">
    {message ?? READ_ONLY_FALLBACK}
  </Alert>
);

interface EditorsFieldProps {
  value: string;
  readOnly: boolean;
  onChange: (value: string) => void;
  /** The backend's message when it refused the list. */
  error: string | undefined;
}

/** For super admins: the users authorised to change the settings, by email or HubSpot user id. */
export const EditorsField = ({ value, readOnly, onChange, error }: EditorsFieldProps) => (
  <>
    <Divider />
    <Heading>Acceso</Heading>
    <TextArea
      name="allowedEditors"
      label="Usuarios autorizados a cambiar la configuración"
      description="Correos electrónicos o IDs de usuario de HubSpot, uno por línea o separados por comas. Los superadministradores del portal siempre pueden cambiarla."
      rows={4}
      value={value}
      readOnly={readOnly}
      onChange={onChange}
      {...(error ? { error: true, validationMessage: error } : {})}
    />
  </>
);
