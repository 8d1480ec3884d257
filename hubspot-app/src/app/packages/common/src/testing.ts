// For the extensions' tests: what makes a backend URL wrong for hubspot.fetch.

/** The query parameters hubspot.fetch appends to every request; the UI must never add them. */
export const IDENTITY_PARAMS = ['portalId', 'userId', 'userEmail', 'appId'] as const;

/** The identity parameters `url` carries (none, for a URL the UI may send). */
export function identityParamsIn(url: string): string[] {
  const params = new URL(url).searchParams;
  return IDENTITY_PARAMS.filter((name) => params.has(name));
}
