// A portal's settings: a change is saved; refused values show their Spanish
// messages next to the fields and keep what was typed (except the key).
import assert from 'node:assert/strict';
import { consoleUrl, env, inBrowser, screenshot, signIn, step, submit } from './lib.mjs';

const portalId = env('HH_PORTAL_ID');
const keyLast4 = env('HH_KEY_LAST4');
const nextSyncDate = env('HH_NEXT_SYNC_DATE');

await inBrowser(async (page) => {
  await signIn(page);
  await page.goto(`${consoleUrl}/portals/${portalId}/settings`);
  const save = page.getByRole('button', { name: 'Guardar' });

  step('the Holded key shows only its last four characters, its field stays empty');
  await page.getByText(`…${keyLast4}`).waitFor();
  assert.equal(await page.getByLabel('Nueva clave de API de Holded').inputValue(), '');
  assert.equal(await page.getByLabel('Productos').isChecked(), true);
  assert.equal(await page.getByLabel('Factura').inputValue(), 'default/closedwon');

  step('unchecking products and changing the date saves both');
  await page.getByLabel('Productos').uncheck();
  await page.getByLabel('Próxima sincronización desde').fill(nextSyncDate);
  await page.getByLabel('Pedido').selectOption({ label: 'Sales Pipeline › Closed Won' });
  const saved = await submit(page, save);
  assert.equal(saved.status(), 303);
  await page.getByRole('status').filter({ hasText: 'Configuración guardada.' }).waitFor();
  assert.equal(await page.getByLabel('Productos').isChecked(), false);
  assert.equal(await page.getByLabel('Próxima sincronización desde').inputValue(), nextSyncDate);
  assert.equal(await page.getByLabel('Pedido').inputValue(), 'default/closedwon');
  await screenshot(page, 'settings-saved');

  step('a key Holded does not know is refused next to its field, and not written back');
  await page.getByLabel('Nueva clave de API de Holded').fill('pat_clave-que-holded-no-conoce');
  const badKey = await submit(page, save);
  assert.equal(badKey.status(), 422);
  const keyField = page.getByLabel('Nueva clave de API de Holded');
  assert.match(await page.locator('#holded-api-key-error').innerText(), /Holded no reconoce esta clave/);
  assert.equal(await keyField.getAttribute('aria-invalid'), 'true');
  assert.match(await keyField.getAttribute('aria-describedby'), /holded-api-key-error/);
  assert.equal(await keyField.inputValue(), '');
  assert.ok(!(await page.content()).includes('pat_clave-que-holded-no-conoce'), 'the typed key is not in the page');
  await page.getByText(`…${keyLast4}`).waitFor();

  step('a date before 2000 is refused; what was typed stays in the form');
  await page.getByLabel('Contactos (personas de Holded)').uncheck();
  await page.getByLabel('Próxima sincronización desde').fill('1999-12-31');
  const badDate = await submit(page, save);
  assert.equal(badDate.status(), 422);
  assert.equal(
    await page.locator('#next-sync-date-error').innerText(),
    'La fecha no puede ser anterior al 1 de enero de 2000.',
  );
  const summary = page.getByRole('alert');
  await summary.getByRole('link', { name: 'La fecha no puede ser anterior al 1 de enero de 2000.' }).waitFor();
  assert.equal(await page.getByLabel('Próxima sincronización desde').inputValue(), '1999-12-31');
  assert.equal(await page.getByLabel('Contactos (personas de Holded)').isChecked(), false);
  assert.equal(await page.getByLabel('Productos').isChecked(), false);
  await screenshot(page, 'settings-refused');

  step("the portal's audit log shows the console's save, newest first");
  await page.getByRole('navigation', { name: `Portal ${portalId}` }).getByRole('link', { name: 'Auditoría' }).click();
  const first = page.locator('tbody tr').first();
  const cells = await first.locator('td').allInnerTexts();
  assert.equal(cells[0], 'console');
  assert.equal(cells[1], 'Configuración guardada');
  assert.match(cells[2], /sync_products|objects/);
  await screenshot(page, 'audit-portal');

  step('the global audit log names the portal');
  await page.getByRole('navigation', { name: 'Principal' }).getByRole('link', { name: 'Auditoría' }).click();
  await page.locator('tbody tr').first().getByRole('link', { name: portalId }).waitFor();
  await screenshot(page, 'audit');
});
