import { describe, expect, it, vi } from 'vitest';
import type { FetchLike } from '@holded-hubspot/ui-common/backend';
import { identityParamsIn } from '@holded-hubspot/ui-common/testing';
import { loadSettings, requestSync, saveSettings } from './settingsApi.ts';

const API = 'https://holded-hubspot.example.com';

describe('the settings API', () => {
  it('never puts the caller identity hubspot.fetch appends on a URL', async () => {
    const fetch = vi.fn<FetchLike>(async () => ({ ok: true, status: 200, json: async () => ({}) }));
    await loadSettings(fetch, API);
    await saveSettings(fetch, API, {
      nextSyncDate: '2026-01-01',
      objects: { contacts: true, companies: true, products: true, documents: true },
      documentMapping: {},
      sensitiveData: { enabled: false, eraseExisting: false },
    });
    await requestSync(fetch, API);

    const urls = fetch.mock.calls.map(([url]) => url);
    expect(urls).toEqual([`${API}/api/settings`, `${API}/api/settings`, `${API}/api/sync`]);
    for (const url of urls) {
      expect(identityParamsIn(url)).toEqual([]);
    }
  });
});
