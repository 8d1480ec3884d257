import { describe, expect, it, vi } from 'vitest';
import type { FetchLike } from '@holded-hubspot/ui-common/backend';
import { IDENTITY_PARAMS, identityParamsIn } from '@holded-hubspot/ui-common/testing';
import { createDocument, loadDeal, saveChoices } from './dealApi.ts';

const API = 'https://holded-hubspot.example.com';

describe('the deal card API', () => {
  it('never puts the caller identity hubspot.fetch appends on a URL', async () => {
    const fetch = vi.fn<FetchLike>(async () => ({ ok: true, status: 200, json: async () => ({}) }));
    // A deal id that needs encoding stays one path segment.
    await loadDeal(fetch, API, '42');
    await saveChoices(fetch, API, '42', { documentType: 'invoice', associateTo: '' });
    await createDocument(fetch, API, 'a/b?portalId=7');

    const urls = fetch.mock.calls.map(([url]) => url);
    expect(urls).toEqual([
      `${API}/api/deals/42`,
      `${API}/api/deals/42`,
      `${API}/api/deals/a%2Fb%3FportalId%3D7/documents`,
    ]);
    for (const url of urls) {
      expect(identityParamsIn(url)).toEqual([]);
    }
  });

  it('recognises each identity parameter on a URL', () => {
    // The check above can fail: every one of the four is found, whatever else the URL carries.
    for (const name of IDENTITY_PARAMS) {
      expect(identityParamsIn(`${API}/api/deals/42?x=1&${name}=9`)).toEqual([name]);
    }
  });
});
