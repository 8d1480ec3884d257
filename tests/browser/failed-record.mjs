// A record HubSpot refused: counted on the list of portals, shown on the
// portal's runs with its reason and unresolved.
import assert from 'node:assert/strict';
import { consoleUrl, env, failedRow, inBrowser, screenshot, signIn, step } from './lib.mjs';

const portalId = env('HH_PORTAL_ID');
const holdedId = env('HH_FAILED_HOLDED_ID');

await inBrowser(async (page) => {
  await signIn(page);

  step('the list of portals flags the portal with one unresolved failed record');
  const row = page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: portalId }) });
  assert.match(await row.getAttribute('class'), /attention/);
  assert.equal(await row.locator('td').last().innerText(), '1');
  await screenshot(page, 'portals-failing');

  step('the runs page shows the record, its reason and what was sent');
  await row.locator('td').last().getByRole('link').click();
  assert.equal(new URL(page.url()).pathname, `/console/portals/${portalId}/runs`);
  const record = failedRow(page, holdedId);
  await record.waitFor();
  const cells = await record.locator('td').allInnerTexts();
  assert.equal(cells[0], 'Contactos');
  assert.match(cells[1], /email/i);
  assert.match(cells[2], /esto-no-es-un-email/);
  assert.equal(cells[3], 'Sin resolver');
  await record.getByRole('button', { name: 'Reintentar' }).waitFor();
  await screenshot(page, 'runs-failed');
});
