//! Shared test fixtures: fresh databases, the service as a real process, the
//! simulators in-process, and an HTTP client.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use holded_hubspot::{
    config::DatabaseTarget,
    hubspot::signature::{FetchIdentity, hubspot_fetch_url},
    store::Store,
};
use holded_hubspot_sim::hubspot::model::User;
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use tokio::process::{Child, Command};

/// Default admin connection for PostgreSQL tests.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The key for secrets at rest that PostgreSQL tests configure.
pub const TEST_SECRET_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// The PostgreSQL server the tests use (`HH_TEST_POSTGRES_URL`).
pub fn postgres_admin_url() -> String {
    std::env::var("HH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new empty directory under the system temp dir.
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!("hh-e2e-{label}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which database engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// SQLite file in a temp dir.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A fresh, empty database of either engine, removed when dropped.
pub struct TestDb {
    /// Where the service should connect (the `DATABASE_URL` value; `None` for SQLite).
    pub url: Option<String>,
    /// Temp dir holding the SQLite file (and the service's data dir).
    pub dir: TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    /// Creates an empty database.
    pub async fn new(engine: Engine) -> Self {
        let dir = TempDir::new("db");
        match engine {
            Engine::Sqlite => Self {
                url: None,
                dir,
                pg_name: None,
            },
            Engine::Postgres => {
                let admin_url = postgres_admin_url();
                let name = format!("hh_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is needed: {e}"));
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                Self {
                    url: Some(format!("{base}/{name}")),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The target as the service's configuration names it.
    pub fn target(&self) -> DatabaseTarget {
        match &self.url {
            Some(url) => {
                DatabaseTarget::Postgres(std::sync::Arc::new(SecretString::from(url.clone())))
            }
            None => DatabaseTarget::Sqlite(self.dir.path().join("holded-hubspot.db")),
        }
    }

    /// A new connection pool to the database, migrated.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.target()).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// Drops the PostgreSQL database now (terminating its connections).
    pub async fn drop_database(&self) {
        if let Some(name) = &self.pg_name {
            let admin = Database::connect(&postgres_admin_url())
                .await
                .expect("admin");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop test database");
            admin.close().await.ok();
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            // Best effort, outside the test's runtime.
            let url = postgres_admin_url();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

/// A free local port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The service binary, built by Cargo for this test package.
pub fn service_binary() -> &'static str {
    env!("CARGO_BIN_EXE_hh-under-test")
}

/// A command for the service binary with a clean environment: only `PATH`,
/// `HOME` and `RUST_LOG` are inherited, so nothing from the developer's shell
/// leaks into a test.
pub fn service_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(service_binary());
    cmd.current_dir(cwd).env_clear();
    for var in ["PATH", "HOME", "RUST_LOG"] {
        if let Ok(value) = std::env::var(var) {
            cmd.env(var, value);
        }
    }
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// The service running as a child process.
pub struct ServiceProcess {
    /// Child process.
    pub child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// File receiving the process's logs.
    pub log_path: PathBuf,
}

impl ServiceProcess {
    /// Starts `serve` (extra args and env given) and waits until `/healthz` answers.
    pub async fn serve(cwd: &Path, db: Option<&TestDb>, extra_env: &[(&str, &str)]) -> Self {
        Self::serve_on(free_port(), cwd, db, extra_env).await
    }

    /// [`Self::serve`] on a given port.
    pub async fn serve_on(
        port: u16,
        cwd: &Path,
        db: Option<&TestDb>,
        extra_env: &[(&str, &str)],
    ) -> Self {
        Self::start(&["serve"], port, cwd, db, extra_env).await
    }

    /// Runs the service binary with `args` (an HTTP-serving command) on
    /// `port` and waits until `/healthz` answers.
    pub async fn start(
        args: &[&str],
        port: u16,
        cwd: &Path,
        db: Option<&TestDb>,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let log_path = cwd.join(format!(
            "service-{port}-{}.log",
            uuid::Uuid::new_v4().simple()
        ));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = service_command(cwd);
        cmd.args(args)
            .env("HH_BIND", format!("127.0.0.1:{port}"))
            .env("HH_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        if let Some(url) = db.and_then(|db| db.url.as_ref()) {
            cmd.env("DATABASE_URL", url)
                .env("HH_SECRET_KEY", TEST_SECRET_KEY);
        }
        for (key, value) in extra_env {
            cmd.env(key, value);
        }
        let child = cmd.spawn().expect("start service");
        let url = format!("http://127.0.0.1:{port}");
        let mut process = Self {
            child,
            url,
            log_path,
        };
        process.wait_healthy().await;
        process
    }

    async fn wait_healthy(&mut self) {
        let client = http();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("service exited with {status}: {}", self.logs());
            }
            if let Ok(res) = client.get(format!("{}/healthz", self.url)).send().await
                && res.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("service did not become healthy: {}", self.logs());
    }

    /// Everything the process logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        tokio::time::timeout(Duration::from_secs(40), self.child.wait())
            .await
            .expect("service stops within the grace period")
            .expect("wait")
    }
}

/// A finished command's standard output followed by its standard error, as text.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An HTTP client for tests.
pub fn http() -> reqwest::Client {
    holded_hubspot::http::client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

/// The service's `/metrics` text at `base`, read with the admin token.
pub async fn metrics(base: &str) -> String {
    http()
        .get(format!("{base}/metrics"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// Both simulators, in-process on free ports.
pub async fn sims() -> holded_hubspot_sim::RunningSims {
    holded_hubspot_sim::start(holded_hubspot_sim::SimConfig::default())
        .await
        .expect("start simulators")
}

/// The HubSpot app the tests register in the simulator and configure in the service.
pub const CLIENT_ID: &str = "hh-e2e-client";
/// Its client secret (signs webhooks and `hubspot.fetch` requests).
pub const CLIENT_SECRET: &str = "hh-e2e-client-secret-0123456789";
/// Its app id.
pub const APP_ID: u64 = 424242;

/// The operator console's token every [`Stack`] configures (`HH_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "hh-e2e-admin-token-0123456789";

/// The service wired to both simulators, on a fresh database, with the
/// operator console enabled ([`ADMIN_TOKEN`]).
pub struct Stack {
    /// Simulators.
    pub sims: holded_hubspot_sim::RunningSims,
    /// The service process.
    pub service: ServiceProcess,
    /// Its database.
    pub db: TestDb,
    env: Vec<(String, String)>,
    cwd: TempDir,
}

impl Stack {
    /// Starts simulators and service (`extra_env` added to the service's).
    pub async fn start(engine: Engine, extra_env: &[(&str, &str)]) -> Self {
        let sims = sims().await;
        let db = TestDb::new(engine).await;
        let cwd = TempDir::new("stack");
        let data_dir = db.dir.path().display().to_string();
        let auth_url = format!("{}/oauth/authorize", sims.hubspot_url);
        let app_id = APP_ID.to_string();
        let mut env: Vec<(&str, &str)> = vec![
            ("HH_DATA_DIR", data_dir.as_str()),
            ("HUBSPOT_CLIENT_ID", CLIENT_ID),
            ("HUBSPOT_CLIENT_SECRET", CLIENT_SECRET),
            ("HUBSPOT_APP_ID", app_id.as_str()),
            ("HUBSPOT_API_BASE", sims.hubspot_url.as_str()),
            ("HUBSPOT_AUTH_URL", auth_url.as_str()),
            ("HOLDED_API_BASE", sims.holded_url.as_str()),
            ("HH_ADMIN_TOKEN", ADMIN_TOKEN),
        ];
        env.extend_from_slice(extra_env);
        let service = ServiceProcess::serve(cwd.path(), Some(&db), &env).await;
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Some(url) = &db.url {
            env.push(("DATABASE_URL".into(), url.clone()));
            env.push(("HH_SECRET_KEY".into(), TEST_SECRET_KEY.into()));
        }
        sims.hubspot
            .register_app(holded_hubspot_sim::hubspot::AppConfig {
                client_id: CLIENT_ID.to_owned(),
                client_secret: CLIENT_SECRET.to_owned(),
                app_id: APP_ID,
                webhook_url: Some(format!("{}/webhooks/hubspot", service.url)),
                webhook_time_factor: 1000.0,
                webhook_timeout_ms: 5_000,
            });
        Self {
            sims,
            service,
            db,
            env,
            cwd,
        }
    }

    /// Kills the service at once (SIGKILL: nothing finishes, as in a crash)
    /// and starts it again on the same port and database.
    pub async fn crash_and_restart(&mut self) {
        let port: u16 = self
            .service
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("service port");
        self.service.child.kill().await.expect("kill the service");
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.service = ServiceProcess::serve_on(port, self.cwd.path(), Some(&self.db), &env).await;
    }

    /// Stops the service and starts it again on the same port and database,
    /// with `overrides` added to (or replacing) its environment.
    pub async fn restart_with(&mut self, overrides: &[(&str, &str)]) {
        for (key, value) in overrides {
            self.env.retain(|(k, _)| k != key);
            self.env.push(((*key).to_owned(), (*value).to_owned()));
        }
        self.crash_and_restart().await;
    }

    /// The service binary as a one-off command (e.g. `sync`) with the same
    /// configuration as the running service.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = service_command(self.cwd.path());
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd
    }

    /// Creates a portal of `tier` in the HubSpot simulator and installs the app
    /// into it through the real OAuth redirects. Returns the portal id and the
    /// install page's HTML.
    pub async fn install(&self, tier: holded_hubspot_sim::hubspot::model::Tier) -> (i64, String) {
        let portal = self
            .sims
            .hubspot
            .create_portal(holded_hubspot_sim::hubspot::NewPortal {
                tier,
                ..Default::default()
            });
        let page = self.install_again(portal.portal_id).await;
        (portal.portal_id as i64, page)
    }

    /// Runs the OAuth install into an existing simulator portal; returns the page.
    pub async fn install_again(&self, portal_id: u64) -> String {
        self.sims
            .hubspot
            .set_install_portal(portal_id)
            .expect("portal exists");
        let (status, page) = self.oauth_dance().await;
        assert_eq!(status, 200, "install page: {page}\n{}", self.service.logs());
        page
    }

    /// Follows the install redirects by hand; returns the callback's status and body.
    pub async fn oauth_dance(&self) -> (u16, String) {
        oauth_dance(&self.service.url, &self.sims.hubspot_url).await
    }
}

/// Installs the app of the service at `service` through HubSpot's simulator
/// at `hubspot`, following the redirects by hand; returns the callback's
/// status and body.
pub async fn oauth_dance(service: &str, hubspot: &str) -> (u16, String) {
    let client = no_redirects();
    let start = client
        .get(format!("{service}/oauth/install"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        start.status(),
        302,
        "{}",
        start.text().await.unwrap_or_default()
    );
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{hubspot}/oauth/authorize?")));
    let approved = client.get(&authorize).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    let callback = location(&approved);
    assert!(callback.starts_with(&format!("{service}/oauth/callback?")));
    let done = client.get(&callback).send().await.unwrap();
    let status = done.status().as_u16();
    (status, done.text().await.unwrap())
}

impl Stack {
    /// A request to `path_and_query` signed with the app's secret and nothing
    /// appended: the shape of a webhook delivery (and of forgeries).
    pub fn signed(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: &str,
    ) -> reqwest::RequestBuilder {
        signed_request(
            &self.service.url,
            method,
            path_and_query,
            body,
            CLIENT_SECRET,
            chrono::Utc::now(),
        )
    }

    /// A UI extension's `hubspot.fetch` call to `path` by `user` of `portal`,
    /// as HubSpot sends it: the identity parameters appended, then signed.
    pub fn fetch_as(
        &self,
        user: &User,
        portal: i64,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> reqwest::RequestBuilder {
        self.signed(method, &fetch_path(user, portal, path), body)
    }

    /// [`Stack::fetch_as`] by the portal's super admin.
    pub fn fetch(
        &self,
        portal: i64,
        method: reqwest::Method,
        path: &str,
        body: &str,
    ) -> reqwest::RequestBuilder {
        self.fetch_as(&self.super_admin(portal), portal, method, path, body)
    }

    /// The console's answer to signing in with [`ADMIN_TOKEN`] through `client`.
    pub async fn console_sign_in(&self, client: &reqwest::Client) -> reqwest::Response {
        client
            .post(format!("{}/console/login", self.service.url))
            .form(&[("token", ADMIN_TOKEN)])
            .send()
            .await
            .unwrap()
    }

    /// A page of the operator console (`path` after `/console`), as the
    /// operator sees it once signed in with [`ADMIN_TOKEN`].
    pub async fn console_page(&self, path: &str) -> String {
        let base = format!("{}/console", self.service.url);
        let client = no_redirects();
        let signed_in = self.console_sign_in(&client).await;
        assert_eq!(signed_in.status(), 303, "console sign-in");
        let cookie = signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let page = client
            .get(format!("{base}{path}"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "{path}");
        page.text().await.unwrap()
    }

    /// The portal's first super admin in the HubSpot simulator.
    pub fn super_admin(&self, portal: i64) -> User {
        self.sims
            .hubspot
            .users(portal as u64)
            .into_iter()
            .find(|u| u.super_admin)
            .expect("every simulated portal has a super admin")
    }
}

/// `path` with the identity `hubspot.fetch` appends for `user` of `portal`.
pub fn fetch_path(user: &User, portal: i64, path: &str) -> String {
    hubspot_fetch_url(
        path,
        &FetchIdentity {
            portal_id: portal as u64,
            user_id: user.id,
            user_email: &user.email,
            app_id: APP_ID,
        },
    )
}

/// The body of a settings save syncing every object from 2020-01-01 with the
/// default pipeline's `stages` (document type → stage id); `key` when given.
pub fn settings_body(
    key: Option<&str>,
    stages: &[(&str, &str)],
    sensitive: bool,
    erase_existing: bool,
) -> String {
    let mapping: serde_json::Map<String, serde_json::Value> = stages
        .iter()
        .map(|(doc_type, stage)| {
            (
                (*doc_type).to_owned(),
                serde_json::json!({"pipelineId": "default", "stageId": stage}),
            )
        })
        .collect();
    let mut body = serde_json::json!({
        "nextSyncDate": "2020-01-01",
        "objects": {"contacts": true, "companies": true, "products": true, "documents": true},
        "documentMapping": mapping,
        "sensitiveData": {"enabled": sensitive, "eraseExisting": erase_existing},
    });
    if let Some(key) = key {
        body["holdedApiKey"] = serde_json::json!(key);
    }
    body.to_string()
}

impl Stack {
    /// Saves `body` through the signed settings API, as the settings page
    /// does; panics unless HubSpot's request is accepted.
    pub async fn save_settings(&self, portal: i64, body: &str) {
        let res = self
            .fetch(portal, reqwest::Method::PUT, "/api/settings", body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}

/// A request signed with `secret` at `at` (v3 signature over method, URL, body, timestamp).
pub fn signed_request(
    base: &str,
    method: reqwest::Method,
    path_and_query: &str,
    body: &str,
    secret: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> reqwest::RequestBuilder {
    use holded_hubspot::hubspot::signature::{SignedRequest, sign_v3};
    let url = format!("{base}{path_and_query}");
    let timestamp = at.timestamp_millis();
    let signature = sign_v3(
        &SecretString::from(secret.to_owned()),
        &SignedRequest {
            method: method.as_str(),
            uri: &url,
            body: body.as_bytes(),
        },
        timestamp,
    );
    let mut request = http()
        .request(method, &url)
        .header("X-HubSpot-Signature-v3", signature)
        .header("X-HubSpot-Request-Timestamp", timestamp.to_string());
    if !body.is_empty() {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    request
}

/// A client that does not follow redirects.
pub fn no_redirects() -> reqwest::Client {
    holded_hubspot::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_owned()
}
