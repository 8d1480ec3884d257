// The backend's settings API (GET/PUT /api/settings?portalId=…), as the page uses it.
// Requests go through hubspot.fetch, which signs them (X-HubSpot-Signature-v3).

/** Holded document types, with the Spanish names shown to users. */
export const DOCUMENT_TYPES = [
  { value: 'estimate', label: 'Presupuesto' },
  { value: 'proform', label: 'Proforma' },
  { value: 'waybill', label: 'Albarán' },
  { value: 'invoice', label: 'Factura' },
  { value: 'salesorder', label: 'Pedido' },
] as const;

export type DocumentType = (typeof DOCUMENT_TYPES)[number]['value'];

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

/** GET /api/settings */
export interface Settings {
  portalId: number;
  timeZone: string;
  holded: { configured: boolean; generation: 'v1' | 'v2' | null; keyLast4: string | null };
  nextSyncDate: string;
  objects: SyncObjects;
  documentMapping: Partial<Record<DocumentType, StageRef>>;
  sensitiveData: { enabled: boolean; available: boolean; reason: string | null };
  pipelines: Pipeline[];
  lastRuns: RunSummary[];
}

/** PUT /api/settings: `holdedApiKey` only when the user typed a new key. */
export interface SettingsUpdate {
  holdedApiKey?: string;
  nextSyncDate: string;
  objects: SyncObjects;
  documentMapping: Partial<Record<DocumentType, StageRef>>;
  sensitiveData: { enabled: boolean; eraseExisting: boolean };
}

/** A refused save: one Spanish message per field. */
export interface ValidationFailure {
  message: string;
  fields: Record<string, string>;
}

export type FetchLike = (
  url: string,
  options: { method: 'GET' | 'PUT' | 'POST'; body?: Record<string, unknown>; timeout?: number },
) => Promise<{ ok: boolean; status: number; json: () => Promise<unknown> }>;

export class SettingsApiError extends Error {}

const TIMEOUT_MS = 15_000;

function settingsUrl(apiOrigin: string, portalId: number): string {
  return `${apiOrigin}/api/settings?portalId=${encodeURIComponent(String(portalId))}`;
}

/** The error body, unwrapped when HubSpot's proxy reports it as BAD_GATEWAY with the original inside. */
function unwrapErrorBody(body: unknown): Record<string, unknown> {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.responseBody === 'string') {
      try {
        return unwrapErrorBody(JSON.parse(record.responseBody));
      } catch {
        return record;
      }
    }
    return record;
  }
  return {};
}

function messageOf(body: Record<string, unknown>, fallback: string): string {
  return typeof body.message === 'string' && body.message ? body.message : fallback;
}

export async function loadSettings(fetch: FetchLike, apiOrigin: string, portalId: number): Promise<Settings> {
  const res = await fetch(settingsUrl(apiOrigin, portalId), { method: 'GET', timeout: TIMEOUT_MS });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new SettingsApiError(messageOf(unwrapErrorBody(body), 'No se pudo cargar la configuración.'));
  }
  return body as Settings;
}

/** Saves; resolves to the saved settings, or to a ValidationFailure for a 422. */
export async function saveSettings(
  fetch: FetchLike,
  apiOrigin: string,
  portalId: number,
  update: SettingsUpdate,
): Promise<Settings | ValidationFailure> {
  const res = await fetch(settingsUrl(apiOrigin, portalId), {
    method: 'PUT',
    body: update as unknown as Record<string, unknown>,
    timeout: TIMEOUT_MS,
  });
  const raw = await res.json().catch(() => ({}));
  if (res.ok) {
    return raw as Settings;
  }
  const body = unwrapErrorBody(raw);
  if (body.fields && typeof body.fields === 'object') {
    return {
      message: messageOf(body, 'Revisa los campos marcados.'),
      fields: body.fields as Record<string, string>,
    };
  }
  throw new SettingsApiError(messageOf(body, 'No se pudo guardar la configuración.'));
}

/** Asks the backend to sync now; resolves to the message to show. */
export async function requestSync(fetch: FetchLike, apiOrigin: string, portalId: number): Promise<string> {
  const res = await fetch(`${apiOrigin}/api/sync?portalId=${encodeURIComponent(String(portalId))}`, {
    method: 'POST',
    timeout: TIMEOUT_MS,
  });
  const body = unwrapErrorBody(await res.json().catch(() => ({})));
  if (!res.ok) {
    throw new SettingsApiError(messageOf(body, 'No se pudo iniciar la sincronización.'));
  }
  return messageOf(body, 'Sincronización en cola.');
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
