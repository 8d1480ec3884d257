// What the settings page and the deal card share about calling our backend
// through hubspot.fetch (which signs each request with X-HubSpot-Signature-v3).

/** hubspot.fetch as the UI uses it (injected, so tests can pass a fake). */
export type FetchLike = (
  url: string,
  options: { method: 'GET' | 'PUT' | 'POST'; body?: Record<string, unknown>; timeout?: number },
) => Promise<{ ok: boolean; status: number; json: () => Promise<unknown> }>;

/** A call the backend refused or could not answer; the message is Spanish. */
export class BackendError extends Error {}

/** hubspot.fetch's safe budget: 15 s. */
export const TIMEOUT_MS = 15_000;

/** The error body, unwrapped when HubSpot's proxy reports it as BAD_GATEWAY with the original inside. */
export function unwrapErrorBody(body: unknown): Record<string, unknown> {
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

/** The backend's Spanish message, or `fallback`. */
export function messageOf(body: Record<string, unknown>, fallback: string): string {
  return typeof body.message === 'string' && body.message ? body.message : fallback;
}
