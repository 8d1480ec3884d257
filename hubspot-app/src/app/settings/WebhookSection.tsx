// Holded changes in real time: the portal's webhook endpoint, how to add it in Holded (Spanish, step by
// step, from the backend so the console says the same), the offer to register it in Holded automatically,
// whether deliveries arrive, and the signing secret.
import { Alert, Button, Divider, Heading, Input, Text } from '@hubspot/ui-extensions';
import { type HoldedWebhook, webhookStatusText } from './settingsApi.ts';

interface Props {
  webhook: HoldedWebhook;
  /** The secret being typed (never the saved one, which is not shown). */
  secret: string;
  readOnly: boolean;
  onChange: (value: string) => void;
  /** The backend's message when it refused the secret. */
  error: string | undefined;
  /** Asks the backend to register the webhook in Holded. */
  onRegister: () => void;
  registering: boolean;
  /** The answer of the last registration asked for. */
  registration: { registered: boolean; message: string } | null;
}

export const WebhookSection = ({ webhook, secret, readOnly, onChange, error, onRegister, registering, registration }: Props) => (
  <>
    <Divider />
    <Heading>Cambios de Holded en tiempo real</Heading>
    <Text>
      Con un webhook de Holded, los cambios llegan a HubSpot en menos de un minuto; la sincronización nocturna sigue
      revisándolo todo por si se pierde algún aviso.
    </Text>
    <Text format={{ fontWeight: 'bold' }}>{`Dirección del webhook: ${webhook.url}`}</Text>
    <Text variant="microcopy">
      Con un token v2, la app puede intentar crear el webhook en Holded por ti. Si Holded no lo acepta, sigue los pasos.
    </Text>
    <Button testId="register-webhook" variant="secondary" disabled={readOnly || registering} onClick={onRegister}>
      Registrar automáticamente en Holded
    </Button>
    {registration && (
      <Alert
        title={registration.registered ? 'Webhook registrado en Holded' : 'Configúralo con los pasos guiados'}
        variant={registration.registered ? 'success' : 'info'}
      >
        {registration.message}
      </Alert>
    )}
    {webhook.steps.map((step, i) => (
      <Text key={step}>{`${i + 1}. ${step}`}</Text>
    ))}
    <Text>{webhookStatusText(webhook)}</Text>
    {webhook.refused > 0 && (
      <Alert title="Envíos rechazados" variant="warning">
        {`Se han rechazado ${webhook.refused} envíos.${webhook.lastRefusal ? ` Último motivo: ${webhook.lastRefusal}.` : ''}`}
      </Alert>
    )}
    <Input
      name="holdedWebhookSecret"
      label="Secreto de firma del webhook"
      type="password"
      value={secret}
      placeholder={webhook.secretConfigured ? 'Déjalo vacío para mantener el actual' : 'whsec_…'}
      description="El que Holded muestra al crear el webhook. Se guarda cifrado y nunca se vuelve a mostrar."
      readOnly={readOnly}
      onChange={onChange}
      {...(error ? { error: true, validationMessage: error } : {})}
    />
  </>
);
