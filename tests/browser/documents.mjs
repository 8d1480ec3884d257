// A portal's document requests: a deal whose Holded document failed shows the
// error; after the fix in HubSpot, "Reintentar" creates it and the row links
// to Holded. HH_DOCUMENTS_STEP is `failed` (before the fix) or `retry` (after).
import assert from 'node:assert/strict';
import { consoleUrl, env, inBrowser, screenshot, signIn, step, submit } from './lib.mjs';

const portalId = env('HH_PORTAL_ID');
const dealId = env('HH_DEAL_ID');
const phase = env('HH_DOCUMENTS_STEP');

const dealRow = (page) =>
  page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: dealId }) });

await inBrowser(async (page) => {
  await signIn(page);
  const portalRow = page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: portalId }) });
  const failedDocuments = portalRow.locator('td').nth(-2);
  // Both phases start with the invoice failed.
  assert.equal(await failedDocuments.innerText(), '1', 'failed documents at a glance');
  await page.goto(`${consoleUrl}/portals/${portalId}/documents`);
  await page.getByRole('link', { name: 'Documentos', exact: true }).waitFor();

  if (phase === 'failed') {
    step('the failed invoice shows its Spanish error and a retry button');
    const cells = await dealRow(page).locator('td').allInnerTexts();
    assert.equal(cells[0], 'Factura');
    assert.equal(cells[1], 'Error');
    assert.match(cells[5], /Holded rechazó los datos/);
    assert.match(cells[5], /s_iva_7/);
    assert.match(await dealRow(page).getAttribute('class'), /attention/);
    await dealRow(page).getByRole('button', { name: 'Reintentar' }).waitFor();
    await screenshot(page, 'documents-failed');
    return;
  }

  step('Reintentar queues the request and says so');
  const queued = await submit(page, dealRow(page).getByRole('button', { name: 'Reintentar' }));
  assert.equal(queued.status(), 303);
  await page.getByRole('status').filter({ hasText: 'Documento en cola' }).waitFor();

  step('the invoice is then created, with its link to Holded');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = await dealRow(page).locator('td').nth(1).innerText();
    if (state === 'Creado') break;
    assert.ok(Date.now() < deadline, `still "${state}" after a minute`);
    await page.waitForTimeout(500);
    await page.reload();
  }
  const link = dealRow(page).getByRole('link', { name: 'Abrir en Holded' });
  assert.match(await link.getAttribute('href'), /^https:\/\/app\.holded\.com\/sales\/revenue\/invoice\/[0-9a-f]{24}$/);
  assert.equal(await dealRow(page).getByRole('button', { name: 'Reintentar' }).count(), 0);
  assert.equal(await dealRow(page).locator('td').nth(2).innerText(), 'Borrador');
  await screenshot(page, 'documents-created');

  step('the list of portals no longer flags a failed document');
  await page.goto(consoleUrl);
  assert.equal(await failedDocuments.innerText(), '0');
});
