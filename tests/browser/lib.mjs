// Shared pieces of the operator console's browser scenarios: a fresh headless
// Chromium (Debian's, never a downloaded one), signing in, screenshots and the
// settings the Rust side passes in the environment.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The value of environment variable `name`; stops the scenario when unset. */
export function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set (the Rust e2e test sets it)`);
  }
  return value;
}

/** The console's base URL, e.g. http://127.0.0.1:41234/console. */
export const consoleUrl = `${env('HH_SERVICE_URL')}/console`;

/** Prints one step of the scenario (the Rust side shows it on failure). */
export function step(text) {
  console.log(`· ${text}`);
}

/** Saves a full-page screenshot as `<artifacts>/console-<name>.png`. */
export async function screenshot(page, name) {
  const dir = env('HH_ARTIFACTS_DIR');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
}

/**
 * Runs `scenario(page)` in a fresh Chromium profile. A failure saves a
 * screenshot of where the page was and fails the script.
 */
export async function inBrowser(scenario) {
  const profile = mkdtempSync(join(tmpdir(), 'hh-console-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    locale: 'es-ES',
    viewport: { width: 1280, height: 900 },
  });
  const problems = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    // CSP violations and script errors; failed loads of what a page uses
    // (pages themselves may answer 401/404/422 on purpose; Chromium asks for
    // /favicon.ico on its own, and the console has none).
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(message.text());
      }
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('response', (response) => {
      const request = response.request();
      const path = new URL(response.url()).pathname;
      if (response.status() >= 400 && request.resourceType() !== 'document' && path !== '/favicon.ico') {
        problems.push(`${response.status()} for ${request.resourceType()} ${path}`);
      }
    });
    try {
      await scenario(page);
    } catch (error) {
      const name = `failure-${basename(process.argv[1], '.mjs')}`;
      await screenshot(page, name).catch(() => {});
      throw error;
    }
    if (problems.length > 0) {
      throw new Error(`the browser reported errors (CSP, scripts, resources):\n${problems.join('\n')}`);
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Submits a form by clicking `button` and returns the response to its POST. */
export async function submit(page, button) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    button.click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

/** Signs in with the admin token; the page ends on the list of portals. */
export async function signIn(page) {
  await page.goto(`${consoleUrl}/login`);
  await page.getByLabel('Token de administración').fill(env('HH_ADMIN_TOKEN'));
  await submit(page, page.getByRole('button', { name: 'Entrar' }));
  if (new URL(page.url()).pathname !== '/console') {
    throw new Error(`signing in ended on ${page.url()}`);
  }
}

/** The row of a failed-records table whose Holded id is `holdedId`. */
export function failedRow(page, holdedId) {
  return page.locator('table.failed tbody tr').filter({ has: page.locator('th', { hasText: holdedId }) });
}
