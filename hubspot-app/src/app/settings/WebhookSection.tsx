// Holded changes in real time: the portal's webhook endpoint, how to add it in Holded (Spanish, step by
// step, from the backend so the console says the same), whether deliveries arrive, and the signing secret.
import { Alert, Divider, Heading, Input, Text } from '@hubspot/ui-extensions';
import { type HoldedWebhook, webhookStatusText } from './settingsApi.ts';

interface Props {
  webhook: HoldedWebhook;
  /** The secret being typed (never the saved one, which is not shown). */
  secret: string;
  readOnly: boolean;
  onChange: (value: string) => void;
  /** The backend's message when it refused the secret. */
  error: string | undefined;
}

export const WebhookSection = ({ webhook, secret, readOnly, onChange, error }: Props) => (
  <>
    <Divider />
    <Heading>Cambios de Holded en tiempo real</Heading>
    <Text>
      Con un webhook de Holded, los cambios llegan a HubSpot en menos de un minuto; la sincronización nocturna sigue
      revisándolo todo por si se pierde algún aviso.
    </Text>
    <Text format={{ fontWeight: 'bold' }}>{`Dirección del webhook: ${webhook.url}`}</Text>
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
