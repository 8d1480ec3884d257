//! The HubSpot developer project in `hubspot-app/` (platform 2026.03): every
//! config file parses, sits in a directory the platform knows, and names
//! files that exist; the first upload carries no app event and no profile is
//! committed; the UI extensions are built alike, share code only through
//! their npm workspace package, and their suites, type checks and lint pass.
//! (`hs project validate` needs a HubSpot account, so these are the
//! structural rules it applies, checked offline; `.ci/hubspot_app.sh` runs
//! HubSpot's own lint and remote-build mirror on each extension.)

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use crate::support::TempDir;

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hubspot-app")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

/// Every `*-hsmeta.json` under `dir`, skipping `node_modules`.
fn hsmeta_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "node_modules") {
                hsmeta_files(&path, found);
            }
        } else if path.to_string_lossy().ends_with("-hsmeta.json") {
            found.push(path);
        }
    }
}

/// Feature directories under `src/app/` and the component type each holds.
const KNOWN_DIRS: [(&str, &str); 5] = [
    ("app", "app"),
    ("settings", "settings"),
    ("webhooks", "webhooks"),
    ("app-events", "app-event"),
    ("cards", "card"),
];
const SINGLETONS: [&str; 3] = ["app", "settings", "webhooks"];

/// The UI extensions: folders of `src/app/`, each its own npm package.
const EXTENSIONS: [&str; 2] = ["src/app/settings", "src/app/cards"];

/// The app event, kept outside `src/` until the project has been deployed once.
const APP_EVENT: &str = "app-events/holded-event-hsmeta.json";

fn assert_valid_uid(uid: &str) {
    assert!(
        !uid.is_empty()
            && uid.len() <= 64
            && uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
        "uid {uid:?}"
    );
}

#[test]
fn project_files_parse_and_sit_where_the_platform_reads_them() {
    let root = project_root();
    let project = read_json(&root.join("hsproject.json"));
    assert_eq!(project["platformVersion"], "2026.03");
    assert_eq!(project["srcDir"], "src");
    let src = root.join("src");

    let mut files = Vec::new();
    hsmeta_files(&src, &mut files);
    assert!(
        files.len() >= 4,
        "app, settings, webhooks and card: {files:?}"
    );
    let mut uids = HashMap::new();
    let mut per_type: HashMap<String, usize> = HashMap::new();
    for file in &files {
        let meta = read_json(file);
        let object = meta.as_object().expect("an object");
        for key in object.keys() {
            assert!(
                ["uid", "type", "config", "dependencies"].contains(&key.as_str()),
                "{}: unknown top-level key {key}",
                file.display()
            );
        }
        let dir = file.parent().unwrap();
        let dir_name = dir.file_name().unwrap().to_str().unwrap();
        let parent_of_dir = dir.parent().unwrap();
        let expected_type = KNOWN_DIRS
            .iter()
            .find(|(name, _)| *name == dir_name)
            .map(|(_, ty)| *ty)
            .unwrap_or_else(|| panic!("{} is in a directory the platform ignores", file.display()));
        if dir_name == "app" {
            assert_eq!(parent_of_dir, src, "app/ sits directly under src/");
        } else {
            assert_eq!(
                parent_of_dir,
                src.join("app"),
                "{} must be directly in app/",
                dir_name
            );
        }
        assert_eq!(meta["type"], expected_type, "{}", file.display());
        let uid = meta["uid"].as_str().expect("uid");
        assert_valid_uid(uid);
        assert!(
            uids.insert(uid.to_owned(), file.clone()).is_none(),
            "duplicate uid {uid}"
        );
        *per_type.entry(expected_type.to_owned()).or_default() += 1;
        if let Some(entrypoint) = meta["config"]["entrypoint"].as_str() {
            let path = src.join(entrypoint.trim_start_matches('/'));
            assert!(
                path.is_file(),
                "{}: entrypoint {entrypoint} missing",
                file.display()
            );
        }
    }
    for singleton in SINGLETONS {
        assert_eq!(
            per_type.get(singleton),
            Some(&1),
            "exactly one {singleton} component"
        );
    }

    // The app event that the second upload adds: an app-event component whose uid is its own.
    let event = read_json(&root.join(APP_EVENT));
    assert_eq!(event["type"], "app-event");
    assert_eq!(event["config"]["objectType"], "DEAL");
    assert!(event["config"]["name"].as_str().unwrap().chars().count() <= 50);
    let uid = event["uid"].as_str().expect("uid");
    assert_valid_uid(uid);
    assert!(
        uids.get(uid)
            .is_none_or(|file| file.ends_with(Path::new(APP_EVENT).file_name().unwrap())),
        "the app event's uid {uid} is taken"
    );
}

#[test]
fn the_app_is_a_marketplace_oauth_app_calling_only_our_backend() {
    let app = read_json(&project_root().join("src/app/app-hsmeta.json"));
    let config = &app["config"];
    assert_eq!(config["distribution"], "marketplace");
    assert_eq!(config["auth"]["type"], "oauth");
    let scopes: Vec<&str> = config["auth"]["requiredScopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for needed in [
        "oauth",
        "crm.objects.deals.write",
        "crm.schemas.deals.write",
        // App events.
        "timeline",
        // User provisioning: whether the signed-in user is a super admin.
        "settings.users.read",
    ] {
        assert!(scopes.contains(&needed), "missing scope {needed}");
    }
    assert_eq!(
        config["permittedUrls"]["fetch"],
        serde_json::json!(["${API_ORIGIN}"])
    );
    assert_eq!(
        config["auth"]["redirectUrls"],
        serde_json::json!(["${API_ORIGIN}/oauth/callback"])
    );

    let webhooks = read_json(&project_root().join("src/app/webhooks/webhooks-hsmeta.json"));
    assert_eq!(
        webhooks["config"]["settings"]["targetUrl"],
        "${API_ORIGIN}/webhooks/hubspot"
    );
    let subscriptions = &webhooks["config"]["subscriptions"];
    let deal_stage = &subscriptions["crmObjects"][0];
    assert_eq!(deal_stage["objectType"], "deal");
    assert_eq!(deal_stage["propertyName"], "dealstage");
    assert_eq!(deal_stage["active"], true);
    assert_eq!(
        subscriptions["hubEvents"],
        serde_json::json!([{"subscriptionType": "contact.privacyDeletion", "active": true}])
    );

    // Every ${VARIABLE} the project uses is one the operator's profile (scripts/write-profile.mjs) defines.
    let profile = written_profile();
    let mut files = Vec::new();
    hsmeta_files(&project_root().join("src"), &mut files);
    files.push(project_root().join(APP_EVENT));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for var in text
            .split("${")
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
        {
            assert!(
                profile["variables"][var].is_string(),
                "{}: the profile defines no {var}",
                file.display()
            );
        }
    }
}

/// The profile `npm run profile` writes for an operator, in a scratch copy of the project.
fn written_profile() -> Value {
    let scratch = TempDir::new("hsprofile");
    std::fs::create_dir_all(scratch.path().join("scripts")).unwrap();
    std::fs::create_dir_all(scratch.path().join("src")).unwrap();
    std::fs::copy(
        project_root().join("scripts/write-profile.mjs"),
        scratch.path().join("scripts/write-profile.mjs"),
    )
    .unwrap();
    let out = Command::new("node")
        .arg("scripts/write-profile.mjs")
        .current_dir(scratch.path())
        .env("HUBSPOT_ACCOUNT_ID", "48213377")
        .env("HH_PUBLIC_URL", "https://holded.reformas.es")
        .env("HH_SUPPORT_EMAIL", "soporte@reformas.es")
        .output()
        .expect("node is needed for the profile writer");
    assert!(
        out.status.success(),
        "{}",
        crate::support::output_text(&out)
    );
    read_json(&scratch.path().join("src/hsprofile.prod.json"))
}

/// Paths of `hubspot-app/src/` that git tracks.
fn committed_project_files() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "--", "src"])
        .current_dir(project_root())
        .output()
        .expect("git lists the committed files");
    assert!(
        out.status.success(),
        "{}",
        crate::support::output_text(&out)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Account ids found in examples and tools' defaults, never an operator's.
const PLACEHOLDER_ACCOUNT_IDS: [u64; 8] =
    [1, 123, 1234, 12345, 123456, 1234567, 12345678, 123456789];

#[test]
fn no_committed_profile_names_a_fake_account_and_the_first_upload_has_no_app_event() {
    let committed = committed_project_files();
    assert!(
        committed.iter().any(|f| f == "src/app/app-hsmeta.json"),
        "git lists the project: {committed:?}"
    );
    for file in &committed {
        let name = Path::new(file).file_name().unwrap().to_str().unwrap();
        if name.starts_with("hsprofile.") && name.ends_with(".json") {
            let account = read_json(&project_root().join(file))["accountId"].as_u64();
            assert!(
                account.is_some_and(|id| id > 0 && !PLACEHOLDER_ACCOUNT_IDS.contains(&id)),
                "{file} names no real account ({account:?}): profiles come from `npm run profile`"
            );
        }
        // HubSpot accepts an app-event component only once the project has been deployed.
        assert!(
            !file.starts_with("src/app/app-events/"),
            "{file}: the first upload carries no app event"
        );
        if file.ends_with("-hsmeta.json") {
            assert_ne!(
                read_json(&project_root().join(file))["type"],
                "app-event",
                "{file}: the first upload carries no app event"
            );
        }
    }
    // What the operator makes for the uploads stays out of git.
    for local in [
        "src/hsprofile.prod.json",
        "src/app/app-events/holded-event-hsmeta.json",
    ] {
        let ignored = Command::new("git")
            .args(["check-ignore", "-q", local])
            .current_dir(project_root())
            .status()
            .unwrap();
        assert!(ignored.success(), "git ignores {local}");
    }
}

/// The packages HubSpot's CLI (8.14.0, `lib/projects/uieLinting.js`) wants declared and installed in
/// an extension's folder before `hs project lint` lints it.
const HUBSPOT_LINT_PACKAGES: [&str; 10] = [
    "eslint",
    "@eslint/js",
    "typescript-eslint",
    "@hubspot/eslint-config-ui-extensions",
    "eslint-config-prettier",
    "eslint-plugin-react",
    "eslint-plugin-react-hooks",
    "eslint-plugin-unused-imports",
    "prettier",
    "jiti",
];

#[test]
fn the_extensions_are_built_alike_and_share_code_only_through_their_workspace() {
    let card = read_json(&project_root().join("src/app/cards/holded-deal-card-hsmeta.json"));
    assert_eq!(card["type"], "card");
    assert_eq!(card["config"]["location"], "crm.record.tab");
    assert_eq!(card["config"]["objectTypes"], serde_json::json!(["deals"]));
    assert_eq!(
        card["config"]["entrypoint"],
        "/app/cards/HoldedDealCard.tsx"
    );

    let [settings, cards] = EXTENSIONS.map(|dir| project_root().join(dir));
    // The same pinned UI library (React 18 only at 0.17.0), tools and configuration in both.
    let (settings_pkg, cards_pkg) = (
        read_json(&settings.join("package.json")),
        read_json(&cards.join("package.json")),
    );
    for key in ["dependencies", "devDependencies", "scripts", "workspaces"] {
        assert_eq!(cards_pkg[key], settings_pkg[key], "package.json {key}");
    }
    for file in ["eslint.config.js", "tsconfig.json", "vitest.config.ts"] {
        assert_eq!(
            std::fs::read_to_string(cards.join(file)).unwrap(),
            std::fs::read_to_string(settings.join(file)).unwrap(),
            "{file}"
        );
    }

    // Each extension is an npm workspace root whose one workspace is the shared package, so
    // `npm ci` in the extension's folder alone (HubSpot's remote build) links it.
    assert_eq!(
        cards_pkg["workspaces"],
        serde_json::json!(["../packages/common"])
    );
    let common = project_root().join("src/app/packages/common");
    let common_pkg = read_json(&common.join("package.json"));
    let common_name = common_pkg["name"].as_str().unwrap();
    assert!(cards_pkg["dependencies"][common_name].is_string());
    let lock = read_json(&cards.join("package-lock.json"));
    assert_eq!(
        lock["packages"][format!("node_modules/{common_name}")],
        serde_json::json!({"resolved": "../packages/common", "link": true}),
        "the lock file links the workspace"
    );
    // The shared package imports nothing: what it would import resolves from its own folder, where
    // no node_modules is installed.
    for entry in std::fs::read_dir(common.join("src")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("import ") || l.contains(" from '")),
            "{} imports",
            path.display()
        );
    }

    // `hs project lint` lints an extension only when these are declared and installed there, and
    // adds `lint` / `lint:fix` scripts to a package.json that lacks them.
    for package in HUBSPOT_LINT_PACKAGES {
        assert!(
            cards_pkg["devDependencies"][package].is_string(),
            "devDependency {package}"
        );
    }
    assert_eq!(cards_pkg["scripts"]["lint"], "eslint .");
    assert_eq!(cards_pkg["scripts"]["lint:fix"], "eslint . --fix");
}

/// Runs `program args` in `dir`; its output, or a panic with it.
fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed in {}: {e}", dir.display()));
    let text = crate::support::output_text(&out);
    assert!(
        out.status.success(),
        "{program} {args:?} in {} failed:\n{text}",
        dir.display()
    );
    text
}

/// Whether `dir`'s node_modules is missing or older than its lock file.
fn needs_install(dir: &Path) -> bool {
    let modified = |file: &str| std::fs::metadata(dir.join(file)).and_then(|m| m.modified());
    match (
        modified("package-lock.json"),
        modified("node_modules/.package-lock.json"),
    ) {
        (Ok(lock), Ok(installed)) => lock > installed,
        _ => true,
    }
}

/// The UI extensions' own suites (Vitest with `@hubspot/ui-extensions/testing`), their strict type
/// checks and their lint, run through npm so that `cargo test` is the whole test suite, and the
/// profile writer's tests. Dependencies are installed from the lock file when missing or stale.
#[test]
fn ui_extension_suites_pass() {
    for package in EXTENSIONS {
        let dir = project_root().join(package);
        if needs_install(&dir) {
            run(&dir, "npm", &["ci", "--no-audit", "--no-fund"]);
        }
        run(&dir, "npm", &["run", "typecheck"]);
        run(&dir, "npm", &["run", "lint"]);
        let report = run(&dir, "npm", &["test"]);
        assert!(report.contains("passed"), "{report}");
        assert!(!report.contains("failed"), "{report}");
    }
    let report = run(&project_root(), "node", &["--test", "scripts/"]);
    assert!(report.contains("# fail 0"), "{report}");
}
