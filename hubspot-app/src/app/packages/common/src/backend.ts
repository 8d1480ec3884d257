// Calling the backend through hubspot.fetch, as the settings page and the deal card both do.
// hubspot.fetch signs each request (X-HubSpot-Signature-v3) and appends the caller's identity
// (portalId, userId, userEmail, appId) to the URL itself; the backend takes the identity from
// those parameters only and refuses a request that carries any of them twice. So the UI never
// puts a query string on a backend URL.

/** The request options the UI passes to hubspot.fetch. */
export interface BackendRequest {
  method: 'GET' | 'PUT' | 'POST';
  body?: Record<string, unknown>;
}

/** hubspot.fetch as the UI uses it (injected, so tests can pass a fake). */
export type FetchLike = (
  url: string,
  options: BackendRequest & { timeout: number },
) => Promise<{ ok: boolean; status: number; json: () => Promise<unknown> }>;

/** A call the backend refused or could not answer: its Spanish message and its error code (`forbidden`, …). */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** hubspot.fetch's safe budget: 15 s. */
export const TIMEOUT_MS = 15_000;

/** The backend's answer: its JSON body, unwrapped from HubSpot's proxy envelope when refused. */
export interface BackendReply {
  ok: boolean;
  body: Record<string, unknown>;
}

/** `${apiOrigin}/api/<segment>/<segment>…`, each segment URI-encoded, and never a query string. */
export function backendUrl(apiOrigin: string, ...segments: string[]): string {
  return `${apiOrigin}/api/${segments.map(encodeURIComponent).join('/')}`;
}

/** One request through hubspot.fetch with the 15 s budget; its answer's JSON (an empty object when there is none). */
export async function callBackend(fetch: FetchLike, url: string, request: BackendRequest): Promise<BackendReply> {
  const res = await fetch(url, { ...request, timeout: TIMEOUT_MS });
  const raw = await res.json().catch(() => ({}));
  return { ok: res.ok, body: res.ok ? asRecord(raw) : unwrapErrorBody(raw) };
}

/** The body of an accepted answer; a refused one throws its BackendError (with `fallback` when it has no message). */
export function acceptedBody<T>(reply: BackendReply, fallback: string): T {
  if (!reply.ok) {
    throw backendError(reply.body, fallback);
  }
  return reply.body as T;
}

/** The BackendError a refused answer's body describes. */
export function backendError(body: Record<string, unknown>, fallback: string): BackendError {
  return new BackendError(messageOf(body, fallback), typeof body.error === 'string' ? body.error : null);
}

/** The backend's Spanish message, or `fallback`. */
export function messageOf(body: Record<string, unknown>, fallback: string): string {
  return typeof body.message === 'string' && body.message ? body.message : fallback;
}

/** The error body, unwrapped when HubSpot's proxy reports it as BAD_GATEWAY with the original inside. */
function unwrapErrorBody(body: unknown): Record<string, unknown> {
  const record = asRecord(body);
  if (typeof record.responseBody === 'string') {
    try {
      return unwrapErrorBody(JSON.parse(record.responseBody));
    } catch {
      return record;
    }
  }
  return record;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
