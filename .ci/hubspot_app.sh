#!/usr/bin/env bash
# HubSpot's own tools on the developer project in hubspot-app/, offline: no HubSpot account and no
# network but the npm registry. HubSpot's CLI is the version hubspot-app/package-lock.json pins.
#
# Each UI extension (a folder of src/app/ whose *-hsmeta.json has an entrypoint: the deal card, the
# settings page) is checked alone, in a clean copy of what `hs project upload` sends for it (hsproject.json,
# the app, the extension's folder and the shared packages, without node_modules or dist):
#   1. `uie build <entrypoint>`: HubSpot CLI's mirror of HubSpot's remote build (`npm ci` in the
#      extension's folder from its lock file, then the build there);
#   2. `hs project lint`: HubSpot's lint of the extension (`eslint .` with the extension's own config).
#      It needs no HubSpot account: with no hubspot.config.yml it reads none and calls no HubSpot API
#      (checked with CLI 8.14.0 and an empty HOME), so CI runs HubSpot's command itself;
#   3. the shared packages, linted with the extension's ESLint config (HubSpot's CLI lints only
#      extension folders);
#   4. `npm ci` (uie's install leaves out optional packages, which Vitest needs), `tsc --noEmit`, Vitest.
# Any error fails the run. Run from anywhere: bash .ci/hubspot_app.sh
set -euo pipefail
cd "$(dirname "$0")/../hubspot-app"
export NO_UPDATE_NOTIFIER=1

step() { printf '\n==> %s\n' "$*"; }

if [ ! -x node_modules/.bin/hs ]; then
  npm ci --no-audit --no-fund
fi
bin="$PWD/node_modules/.bin"
step "HubSpot CLI $("$bin/hs" --version)"

# "<folder> <entrypoint file>" for every component with an entrypoint, e.g. "cards HoldedDealCard.tsx".
extensions=$(node --input-type=module -e '
  import { readdirSync, readFileSync } from "node:fs";
  for (const dir of readdirSync("src/app", { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(`src/app/${dir.name}`).filter((f) => f.endsWith("-hsmeta.json"))) {
      const entrypoint = JSON.parse(readFileSync(`src/app/${dir.name}/${file}`, "utf8")).config?.entrypoint;
      if (entrypoint) console.log(`${dir.name} ${entrypoint.split("/").pop()}`);
    }
  }')
[ -n "$extensions" ] || { echo "no UI extension found in hubspot-app/src/app" >&2; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

while read -r folder entrypoint; do
  copy="$scratch/$folder"
  mkdir -p "$copy"
  tar --exclude=node_modules --exclude=dist -cf - hsproject.json src/app/app-hsmeta.json "src/app/$folder" src/app/packages |
    tar -C "$copy" -xf -

  step "$folder: HubSpot's remote build, alone (uie build $entrypoint)"
  (cd "$copy/src/app/$folder" && "$bin/uie" build "$entrypoint")

  step "$folder: hs project lint"
  (cd "$copy" && "$bin/hs" project lint --install-missing-deps=false)

  step "$folder: the shared packages, with $folder's ESLint config"
  (cd "$copy/src/app" && "$folder/node_modules/.bin/eslint" --config "$folder/eslint.config.js" packages)

  step "$folder: npm ci, tsc --noEmit, Vitest"
  (cd "$copy/src/app/$folder" && npm ci --no-audit --no-fund && npx tsc --noEmit && npx vitest run)
done <<<"$extensions"
