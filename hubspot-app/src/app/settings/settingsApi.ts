// The backend's settings API (GET and PUT /api/settings, POST /api/settings/holded-webhook/register,
// POST /api/sync), as the page uses it.
// Requests go through hubspot.fetch, which signs them and adds the caller's portal and user to the URL.
import { type FetchLike, acceptedBody, backendError, backendUrl, callBackend, messageOf } from '@holded-hubspot/ui-common/backend';
import type { DocumentType } from '@holded-hubspot/ui-common/documentTypes';

/** The default taxes offered (Holded's standard Spanish sales taxes); as the backend's OFFERED_DEFAULT_TAXES. */
export const DEFAULT_TAXES = [
  { value: 's_iva_21', label: 'IVA 21 % (general)' },
  { value: 's_iva_10', label: 'IVA 10 % (reducido)' },
  { value: 's_iva_4', label: 'IVA 4 % (superreducido)' },
  { value: 's_iva_0', label: 'IVA 0 % (exento)' },
] as const;

/** What to sync from Holded into HubSpot. */
export interface SyncObjects {
  contacts: boolean;
  companies: boolean;
  products: boolean;
  documents: boolean;
}

export interface StageRef {
  pipelineId: string;
  stageId: string;
}

export interface Pipeline {
  id: string;
  label: string;
  stages: { id: string; label: string }[];
}

export interface RunSummary {
  id: number;
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  created: number;
  updated: number;
  failed: number;
}

/** Who may change the settings: the portal's super admins, and the users they authorised. */
export interface Access {
  canEdit: boolean;
  superAdmin: boolean;
  allowedEditors: { userId: string; email: string | null }[];
  /** Spanish: who can change the settings (shown when `canEdit` is false). */
  message: string | null;
}

/** This month's Holded calls against the account's monthly quota, with the warning or the pause (Spanish). */
export interface HoldedUsage {
  /** `YYYY-MM`. */
  period: string;
  used: number;
  limit: number;
  percent: number;
  /** Whether `used` is Holded's own count (every client of the account). */
  countedByHolded: boolean;
  /** While the quota is spent: when the sync and the documents continue. */
  pausedUntil: string | null;
  message: string | null;
}

/** The portal's Holded webhook (GET /api/settings `holdedWebhook`). */
export interface HoldedWebhook {
  /** The endpoint to paste in Holded. */
  url: string;
  secretConfigured: boolean;
  /** A verified delivery arrived since the secret was saved. */
  connected: boolean;
  lastDeliveryAt: string | null;
  refused: number;
  lastRefusal: string | null;
  lastRefusedAt: string | null;
  /** The id Holded gave the webhook when the app registered it there (none when added by hand). */
  holdedId: string | null;
  /** The events to tick in Holded (`contact.update`, …). */
  events: string[];
  /** The set-up in Holded, step by step (Spanish). */
  steps: string[];
}

/** Whether deliveries arrive, as the page states it. */
export const webhookStatusText = (webhook: HoldedWebhook): string => {
  if (webhook.connected) {
    const last = webhook.lastDeliveryAt ? ` Último envío recibido: ${webhook.lastDeliveryAt.slice(0, 19).replace('T', ' ')} UTC.` : '';
    return `Conectado.${last}`;
  }
  return webhook.secretConfigured
    ? 'Secreto guardado; esperando el primer envío de Holded.'
    : 'Sin configurar: los cambios de Holded llegan con la sincronización nocturna.';
};

/** Who started a run, in Spanish: the night, someone, or Holded's webhooks. */
export const triggerLabel = (trigger: string): string =>
  ({ scheduled: 'Nocturna', manual: 'Manual', cli: 'Línea de órdenes', webhook: 'Webhook de Holded' })[trigger] ?? trigger;

/** A count as Spanish writes it: `5000` → `5.000`. */
export const spanishCount = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.');

/** The month's use, as the page states it. */
export const usageText = (usage: HoldedUsage): string =>
  `Peticiones a la API de Holded este mes (${usage.period}): ${spanishCount(usage.used)} de ${spanishCount(usage.limit)} (${usage.percent} %${usage.countedByHolded ? ', según Holded' : ''}).`;

/** GET /api/settings */
export interface Settings {
  portalId: number;
  timeZone: string;
  holded: { configured: boolean; generation: 'v1' | 'v2' | null; keyLast4: string | null };
  nextSyncDate: string;
  objects: SyncObjects;
  documentMapping: Partial<Record<DocumentType, StageRef>>;
  sensitiveData: { enabled: boolean; available: boolean; reason: string | null };
  /** Holded tax key of deal lines that carry none (`s_iva_21`). */
  defaultTax: string;
  pipelines: Pipeline[];
  lastRuns: RunSummary[];
  /** Null while there is no usable Holded key. */
  holdedUsage: HoldedUsage | null;
  holdedWebhook: HoldedWebhook;
  access: Access;
}

/** PUT /api/settings: `holdedApiKey` only when the user typed a new key. */
export interface SettingsUpdate {
  holdedApiKey?: string;
  /** Only when the user typed a new signing secret (`whsec_…`). */
  holdedWebhookSecret?: string;
  nextSyncDate: string;
  objects: SyncObjects;
  documentMapping: Partial<Record<DocumentType, StageRef>>;
  sensitiveData: { enabled: boolean; eraseExisting: boolean };
  defaultTax?: string;
  /** Emails or HubSpot user ids; only from a super admin who changed them. */
  allowedEditors?: string[];
}

/** A refused save: one Spanish message per field. */
export interface ValidationFailure {
  message: string;
  fields: Record<string, string>;
}

export async function loadSettings(fetch: FetchLike, apiOrigin: string): Promise<Settings> {
  const reply = await callBackend(fetch, backendUrl(apiOrigin, 'settings'), { method: 'GET' });
  return acceptedBody<Settings>(reply, 'No se pudo cargar la configuración.');
}

/** Saves; resolves to the saved settings, or to a ValidationFailure for a 422. A refusal (403) throws its BackendError. */
export async function saveSettings(
  fetch: FetchLike,
  apiOrigin: string,
  update: SettingsUpdate,
): Promise<Settings | ValidationFailure> {
  const reply = await callBackend(fetch, backendUrl(apiOrigin, 'settings'), {
    method: 'PUT',
    body: { ...update },
  });
  if (reply.ok) {
    return reply.body as unknown as Settings;
  }
  const { fields } = reply.body;
  if (fields && typeof fields === 'object') {
    return {
      message: messageOf(reply.body, 'Revisa los campos marcados.'),
      fields: fields as Record<string, string>,
    };
  }
  throw backendError(reply.body, 'No se pudo guardar la configuración.');
}

/** What «Registrar automáticamente en Holded» answers, Holded's refusal included. */
export interface WebhookRegistration {
  /** Whether the webhook exists in Holded now. */
  registered: boolean;
  /** What happened and what to do next (Spanish). */
  message: string;
  holdedWebhook: HoldedWebhook;
}

/** Asks the backend to register the portal's webhook in Holded (a v2 token only; the guided steps otherwise). */
export async function registerWebhook(fetch: FetchLike, apiOrigin: string): Promise<WebhookRegistration> {
  const reply = await callBackend(fetch, backendUrl(apiOrigin, 'settings', 'holded-webhook', 'register'), { method: 'POST' });
  return acceptedBody<WebhookRegistration>(reply, 'No se pudo registrar el webhook en Holded.');
}

/** Asks the backend to sync now; resolves to the message to show. */
export async function requestSync(fetch: FetchLike, apiOrigin: string): Promise<string> {
  const reply = await callBackend(fetch, backendUrl(apiOrigin, 'sync'), { method: 'POST' });
  return messageOf(acceptedBody(reply, 'No se pudo iniciar la sincronización.'), 'Sincronización en cola.');
}

export function isValidationFailure(value: Settings | ValidationFailure): value is ValidationFailure {
  return 'fields' in value;
}

/** `YYYY-MM-DD` ⇄ the DateInput's `{year, month (0-based), date}`. */
export function toDateParts(iso: string): { year: number; month: number; date: number } {
  const [year, month, date] = iso.split('-').map(Number);
  return { year, month: month - 1, date };
}

export function fromDateParts(parts: { year: number; month: number; date: number }): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${parts.year}-${pad(parts.month + 1)}-${pad(parts.date)}`;
}

/** The authorised users as the page shows them: by email when known, else by user id, one per line. */
export function editorsText(editors: Access['allowedEditors']): string {
  return editors.map((editor) => editor.email ?? editor.userId).join('\n');
}

/** The emails or user ids typed, one per line or comma-separated, without blanks or repeats. */
export function parseEditors(text: string): string[] {
  const entries = text.split(/[\n,]/).map((entry) => entry.trim());
  return entries.filter((entry, i) => entry && entries.findIndex((e) => e.toLowerCase() === entry.toLowerCase()) === i);
}

/** Whether two lists of editors name different users (order and case aside). */
export function editorsDiffer(a: string[], b: string[]): boolean {
  const key = (list: string[]) => list.map((entry) => entry.toLowerCase()).sort().join('\n');
  return key(a) !== key(b);
}
