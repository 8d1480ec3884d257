// Signing in (a wrong token is refused), the list of portals and a portal's runs.
import assert from 'node:assert/strict';
import { consoleUrl, env, inBrowser, screenshot, signIn, step, submit } from './lib.mjs';

const portalId = env('HH_PORTAL_ID');

await inBrowser(async (page) => {
  step('without a session the console sends the operator to the login form');
  await page.goto(consoleUrl);
  assert.equal(new URL(page.url()).pathname, '/console/login');
  assert.equal(await page.getAttribute('html', 'lang'), 'es');

  step('the first Tab reaches the skip link, visibly focused');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return { text: el.textContent, outline: getComputedStyle(el).outlineStyle };
  });
  assert.equal(focused.text, 'Saltar al contenido');
  assert.notEqual(focused.outline, 'none', 'focus is visible');

  step('a wrong token is refused with a Spanish message and HTTP 401');
  await page.getByLabel('Token de administración').fill('esto-no-es-el-token');
  const refused = await submit(page, page.getByRole('button', { name: 'Entrar' }));
  assert.equal(refused.status(), 401);
  await assert.doesNotReject(page.getByRole('alert').filter({ hasText: 'El token no es correcto' }).waitFor());
  assert.equal(await page.getByLabel('Token de administración').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'login-refused');

  step('the right token opens the list of portals');
  await signIn(page);
  const header = await page.evaluate(() => getComputedStyle(document.querySelector('header.top')).backgroundColor);
  assert.equal(header, 'rgb(16, 42, 67)', 'the stylesheet loads under the CSP');
  const row = page.locator('tbody tr').filter({ has: page.getByRole('rowheader', { name: portalId }) });
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  assert.match(cells[0], /Conectado/);
  assert.equal(cells[1], 'Europe/Madrid');
  assert.match(cells[2], /Sí\s+v2/);
  assert.match(cells[3], /Completada/);
  assert.equal(cells[5], '0', 'no failed records');
  await screenshot(page, 'portals');

  step("the portal's runs: trigger, status, counts and API calls per kind");
  await row.getByRole('link', { name: portalId }).click();
  await page.getByRole('navigation', { name: `Portal ${portalId}` }).getByRole('link', { name: 'Ejecuciones' }).click();
  assert.equal(new URL(page.url()).pathname, `/console/portals/${portalId}/runs`);
  assert.equal(await page.getByRole('link', { name: 'Ejecuciones' }).getAttribute('aria-current'), 'page');
  const summary = page.locator('table').first();
  const runCells = await summary.locator('tbody tr').first().locator('td').allInnerTexts();
  assert.match(runCells[1], /Línea de órdenes/);
  assert.match(runCells[2], /Completada/);
  assert.ok(Number(runCells[4]) > 0, `records created: ${runCells}`);
  assert.ok(Number(runCells[7]) > 0, `HubSpot calls: ${runCells}`);
  assert.ok(Number(runCells[8]) > 0, `Holded calls: ${runCells}`);
  const kinds = await page.locator('section.run').first().locator('tbody th').allInnerTexts();
  assert.deepEqual(kinds, ['Contactos', 'Empresas', 'Productos', 'Negocios']);
  await screenshot(page, 'runs');

  step('signing out ends the session');
  await submit(page, page.getByRole('button', { name: 'Cerrar sesión' }));
  await page.getByText('Has cerrado la sesión.').waitFor();
  await page.goto(consoleUrl);
  assert.equal(new URL(page.url()).pathname, '/console/login');
});
