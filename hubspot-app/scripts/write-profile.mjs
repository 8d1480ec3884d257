#!/usr/bin/env node
// Writes src/hsprofile.<name>.json (default: prod), the profile `hs project upload --profile <name>` reads,
// from the operator's environment. Profiles are never committed: the account id is the operator's own.
//
//   HUBSPOT_ACCOUNT_ID  the id of the HubSpot developer account the app lives in (`npx hs account list`
//                       shows it once `npx hs account auth` has added the account)
//   HH_PUBLIC_URL       the service's public HTTPS address (as in the service's configuration); its origin
//                       becomes API_ORIGIN: OAuth redirect, webhook target and hubspot.fetch's permitted URL
//   HH_SUPPORT_EMAIL    the support address shown on the app's listing
//
// Usage: npm run profile [-- <name>]
import { writeFileSync } from 'node:fs';

const name = process.argv[2] ?? 'prod';
const problems = [];

if (!/^[a-zA-Z0-9]+$/.test(name)) {
  problems.push(`profile name: \`${name}\` is not letters and digits only`);
}

const accountId = process.env.HUBSPOT_ACCOUNT_ID?.trim() ?? '';
if (!/^[1-9][0-9]*$/.test(accountId)) {
  problems.push(
    accountId
      ? `HUBSPOT_ACCOUNT_ID: \`${accountId}\` is not an account id (a positive whole number)`
      : 'HUBSPOT_ACCOUNT_ID: not set (your developer account id; `npx hs account list` shows it)',
  );
}

const apiOrigin = publicOrigin(process.env.HH_PUBLIC_URL?.trim() ?? '');
const supportEmail = process.env.HH_SUPPORT_EMAIL?.trim() ?? '';
if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(supportEmail)) {
  problems.push(
    supportEmail ? `HH_SUPPORT_EMAIL: \`${supportEmail}\` is not an email address` : 'HH_SUPPORT_EMAIL: not set',
  );
}

if (problems.length > 0) {
  for (const problem of problems) {
    console.error(`error: ${problem}`);
  }
  process.exit(1);
}

const file = new URL(`../src/hsprofile.${name}.json`, import.meta.url);
const profile = { accountId: Number(accountId), variables: { API_ORIGIN: apiOrigin, SUPPORT_EMAIL: supportEmail } };
writeFileSync(file, `${JSON.stringify(profile, null, 2)}\n`);
console.log(`src/hsprofile.${name}.json: account ${accountId}, API_ORIGIN ${apiOrigin}`);

/** The HTTPS origin of `url`, as hubspot.fetch permits it (not localhost); records a problem otherwise. */
function publicOrigin(url) {
  if (!url) {
    problems.push("HH_PUBLIC_URL: not set (the service's public HTTPS address)");
    return '';
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    problems.push(`HH_PUBLIC_URL: \`${url}\` is not a URL`);
    return '';
  }
  if (parsed.protocol !== 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname)) {
    problems.push(`HH_PUBLIC_URL: \`${url}\` is not a public https:// address (HubSpot calls it from the internet)`);
  } else if (parsed.pathname !== '/' || parsed.search || parsed.hash) {
    problems.push(`HH_PUBLIC_URL: \`${url}\` has a path; the service answers at the origin (https://host[:port])`);
  }
  return parsed.origin;
}
