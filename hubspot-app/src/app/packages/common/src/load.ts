// Loading an extension's data when it mounts, the way HubSpot's own extension examples do: the effect
// starts the request and sets state only in the request's callbacks (never synchronously in the effect),
// and an answer that arrives after the effect was cleaned up is dropped.

/** What an extension knows about the data it is loading. */
export type Loading<T> = { status: 'loading' } | { status: 'ready'; value: T } | { status: 'failed'; message: string };

export const LOADING: Loading<never> = { status: 'loading' };

/**
 * Runs `load` and hands its outcome to `settle` (a failure as its message, or `fallback`).
 * Returns the effect's cleanup: after it, the outcome is dropped.
 */
export function loadInto<T>(
  load: () => Promise<T>,
  settle: (outcome: Loading<T>) => void,
  fallback: string,
): () => void {
  let current = true;
  load().then(
    (value) => current && settle({ status: 'ready', value }),
    (err: unknown) => current && settle({ status: 'failed', message: err instanceof Error ? err.message : fallback }),
  );
  return () => {
    current = false;
  };
}

/** Shown when the app was uploaded without the API_ORIGIN profile variable. */
export const NO_API_ORIGIN = 'La aplicación no tiene configurada la dirección del servidor (API_ORIGIN).';
