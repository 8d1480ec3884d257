// The backend's settings API (GET/PUT /api/settings?portalId=…), as the page uses it.
// Requests go through hubspot.fetch, which signs them (X-HubSpot-Signature-v3).
import { BackendError, type FetchLike, TIMEOUT_MS, messageOf, unwrapErrorBody } from '../common/backendFetch.ts';

import { DOCUMENT_TYPES, type DocumentType } from '../common/documentTypes.ts';

export { BackendError, DOCUMENT_TYPES, type DocumentType, type FetchLike };

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
}

/** PUT /api/settings: `holdedApiKey` only when the user typed a new key. */
export interface SettingsUpdate {
  holdedApiKey?: string;
  nextSyncDate: string;
  objects: SyncObjects;
  documentMapping: Partial<Record<DocumentType, StageRef>>;
  sensitiveData: { enabled: boolean; eraseExisting: boolean };
  defaultTax?: string;
}

/** A refused save: one Spanish message per field. */
export interface ValidationFailure {
  message: string;
  fields: Record<string, string>;
}

function settingsUrl(apiOrigin: string, portalId: number): string {
  return `${apiOrigin}/api/settings?portalId=${encodeURIComponent(String(portalId))}`;
}

export async function loadSettings(fetch: FetchLike, apiOrigin: string, portalId: number): Promise<Settings> {
  const res = await fetch(settingsUrl(apiOrigin, portalId), { method: 'GET', timeout: TIMEOUT_MS });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new BackendError(messageOf(unwrapErrorBody(body), 'No se pudo cargar la configuración.'));
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
  throw new BackendError(messageOf(body, 'No se pudo guardar la configuración.'));
}

/** Asks the backend to sync now; resolves to the message to show. */
export async function requestSync(fetch: FetchLike, apiOrigin: string, portalId: number): Promise<string> {
  const res = await fetch(`${apiOrigin}/api/sync?portalId=${encodeURIComponent(String(portalId))}`, {
    method: 'POST',
    timeout: TIMEOUT_MS,
  });
  const body = unwrapErrorBody(await res.json().catch(() => ({})));
  if (!res.ok) {
    throw new BackendError(messageOf(body, 'No se pudo iniciar la sincronización.'));
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
