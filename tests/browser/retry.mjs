// "Reintentar" on a failed record (fixed in Holded meanwhile) queues a run;
// once it has run, the record shows as resolved.
import assert from 'node:assert/strict';
import { consoleUrl, env, failedRow, inBrowser, screenshot, signIn, step, submit } from './lib.mjs';

const portalId = env('HH_PORTAL_ID');
const holdedId = env('HH_FAILED_HOLDED_ID');

await inBrowser(async (page) => {
  await signIn(page);
  await page.goto(`${consoleUrl}/portals/${portalId}/runs`);

  step('Reintentar queues a run and says so');
  const queued = await submit(page, failedRow(page, holdedId).getByRole('button', { name: 'Reintentar' }));
  assert.equal(queued.status(), 303);
  await page.getByRole('status').filter({ hasText: 'Reintento en cola' }).waitFor();

  step('after the queued run the record is resolved');
  const latestRun = () => page.locator('table').first().locator('tbody tr').first().locator('td').allInnerTexts();
  const deadline = Date.now() + 60_000;
  for (;;) {
    // The record lands during the run; the run completes a little later.
    const status = await failedRow(page, holdedId).locator('td').nth(3).innerText();
    const run = await latestRun();
    if (status === 'Resuelto' && /Completada/.test(run[2])) break;
    assert.ok(Date.now() < deadline, `still "${status}" (run "${run[2]}") after a minute`);
    await page.waitForTimeout(500);
    await page.reload();
  }
  assert.equal(await failedRow(page, holdedId).getByRole('button', { name: 'Reintentar' }).count(), 0);
  const latest = await latestRun();
  assert.match(latest[1], /Manual/);
  assert.match(latest[2], /Completada/);
  await screenshot(page, 'runs-resolved');

  step('the list of portals no longer flags it');
  await page.goto(consoleUrl);
  const row = page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: portalId }) });
  assert.equal(await row.locator('td').last().innerText(), '0');
});
