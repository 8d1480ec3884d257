//! The HubSpot developer project in `hubspot-app/` (platform 2026.03): every
//! config file parses, sits in a directory the platform knows, and names
//! files that exist. (`hs project validate` needs a HubSpot account, so these
//! are the structural rules it applies, checked offline.)

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use serde_json::Value;

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../hubspot-app")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

/// Every `*-hsmeta.json` under `src/`, skipping `node_modules`.
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
        "app, settings, webhooks and app event: {files:?}"
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
        assert!(
            uid.len() <= 64
                && uid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        );
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
        "timeline",
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
    // Every ${VARIABLE} used is defined by the production profile.
    let profile = read_json(&project_root().join("src/hsprofile.prod.json"));
    let text = serde_json::to_string(&app).unwrap();
    for var in text
        .split("${")
        .skip(1)
        .map(|s| s.split('}').next().unwrap())
    {
        assert!(
            profile["variables"][var].is_string(),
            "profile defines {var}"
        );
    }
    let webhooks = read_json(&project_root().join("src/app/webhooks/webhooks-hsmeta.json"));
    assert_eq!(
        webhooks["config"]["settings"]["targetUrl"],
        "${API_ORIGIN}/webhooks/hubspot"
    );
    let subscription = &webhooks["config"]["subscriptions"]["crmObjects"][0];
    assert_eq!(subscription["objectType"], "deal");
    assert_eq!(subscription["propertyName"], "dealstage");
    assert_eq!(subscription["active"], true);
}

#[test]
fn the_deal_card_sits_on_deal_records_and_is_built_like_the_settings_page() {
    let card = read_json(&project_root().join("src/app/cards/holded-deal-card-hsmeta.json"));
    assert_eq!(card["type"], "card");
    assert_eq!(card["config"]["location"], "crm.record.tab");
    assert_eq!(card["config"]["objectTypes"], serde_json::json!(["deals"]));
    assert_eq!(
        card["config"]["entrypoint"],
        "/app/cards/HoldedDealCard.tsx"
    );
    let cards = read_json(&project_root().join("src/app/cards/package.json"));
    let settings = read_json(&project_root().join("src/app/settings/package.json"));
    // Both extensions use the same pinned UI library (React 18 only at 0.17.0).
    assert_eq!(cards["dependencies"], settings["dependencies"]);
    assert_eq!(cards["devDependencies"], settings["devDependencies"]);
}

/// The UI extensions' own suites (Vitest with `@hubspot/ui-extensions/testing`)
/// and their strict type checks, run through npm so that `cargo test` is the
/// whole test suite. Dependencies are installed from the lock file when missing.
#[test]
fn ui_extension_suites_pass() {
    let packages = ["src/app/settings", "src/app/cards"];
    for package in packages {
        let dir = project_root().join(package);
        let npm = |args: &[&str]| {
            let out = std::process::Command::new("npm")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap_or_else(|e| panic!("npm is needed for {package}: {e}"));
            let text = crate::support::output_text(&out);
            assert!(
                out.status.success(),
                "npm {args:?} in {package} failed:\n{text}"
            );
            text
        };
        if !dir.join("node_modules").is_dir() {
            npm(&["ci", "--no-audit", "--no-fund"]);
        }
        npm(&["run", "typecheck"]);
        let report = npm(&["test"]);
        assert!(report.contains("passed"), "{report}");
        assert!(!report.contains("failed"), "{report}");
    }
}
