// `node --test scripts/`: the profile writer refuses what `hs project upload` would choke on, and writes
// what it reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const GOOD = {
  HUBSPOT_ACCOUNT_ID: '48213377',
  HH_PUBLIC_URL: 'https://holded.reformas.es/',
  HH_SUPPORT_EMAIL: 'soporte@reformas.es',
};

const projects = [];
after(() => projects.forEach((project) => rmSync(project, { recursive: true, force: true })));

/** Runs a copy of the script in a scratch project; returns its exit code, stderr and project's src/. */
function run(env, ...args) {
  const project = mkdtempSync(join(tmpdir(), 'hh-profile-'));
  projects.push(project);
  mkdirSync(join(project, 'scripts'));
  mkdirSync(join(project, 'src'));
  copyFileSync(new URL('write-profile.mjs', import.meta.url), join(project, 'scripts', 'write-profile.mjs'));
  const child = spawnSync(process.execPath, [join(project, 'scripts', 'write-profile.mjs'), ...args], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  return { status: child.status, stderr: child.stderr, src: join(project, 'src') };
}

test('writes the profile from the environment', () => {
  const { status, src } = run(GOOD);
  assert.equal(status, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(src, 'hsprofile.prod.json'), 'utf8')), {
    accountId: 48213377,
    variables: { API_ORIGIN: 'https://holded.reformas.es', SUPPORT_EMAIL: 'soporte@reformas.es' },
  });
});

test('writes a profile of another name', () => {
  const { status, src } = run(GOOD, 'staging');
  assert.equal(status, 0);
  assert.ok(existsSync(join(src, 'hsprofile.staging.json')));
});

test('refuses a missing or fake account id, naming the variable, and writes nothing', () => {
  for (const accountId of [undefined, '0', '-5', '12ab', '']) {
    const env = { ...GOOD, HUBSPOT_ACCOUNT_ID: accountId };
    if (accountId === undefined) delete env.HUBSPOT_ACCOUNT_ID;
    const { status, stderr, src } = run(env);
    assert.equal(status, 1, `account id ${accountId}`);
    assert.match(stderr, /^error: HUBSPOT_ACCOUNT_ID: /m);
    assert.ok(!existsSync(join(src, 'hsprofile.prod.json')));
  }
});

test('refuses an address HubSpot cannot call, or one with a path', () => {
  for (const url of ['http://holded.reformas.es', 'https://localhost:8080', 'https://holded.reformas.es/api', 'nada']) {
    const { status, stderr } = run({ ...GOOD, HH_PUBLIC_URL: url });
    assert.equal(status, 1, url);
    assert.match(stderr, /^error: HH_PUBLIC_URL: /m);
  }
});

test('refuses a missing support address and a bad profile name', () => {
  const noEmail = run({ ...GOOD, HH_SUPPORT_EMAIL: 'soporte' });
  assert.equal(noEmail.status, 1);
  assert.match(noEmail.stderr, /^error: HH_SUPPORT_EMAIL: /m);
  const badName = run(GOOD, 'my-profile');
  assert.equal(badName.status, 1);
  assert.match(badName.stderr, /^error: profile name: /m);
});
