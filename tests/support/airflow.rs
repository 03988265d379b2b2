//! A real Apache Airflow 3 (from PyPI), started once per test binary: the
//! API server (on a port it picks), the scheduler (without its log server)
//! and the DAG processor, all on 127.0.0.1 with SQLite in a temp
//! AIRFLOW_HOME, the tests' own DAGs, and the simple auth manager's users
//! `admin` and `viewer`. Scheduling is made fast through Airflow's own
//! settings (the DAG folder is scanned every 5 s, heartbeats every second).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::{Missing, Server, block_on_thread, locate, shared};

/// Migrating a fresh SQLite database and starting the API server.
const START_TIMEOUT: Duration = Duration::from_secs(240);
/// How often a state is checked while waiting for it.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
const HOW: &str = "Install it with `python3 -m venv ~/.cache/opsdeck/airflow-venv && \
                   ~/.cache/opsdeck/airflow-venv/bin/pip install apache-airflow==3.3.2`, \
                   or set OPSDECK_AIRFLOW to its `airflow` binary.";

pub const ADMIN_PASSWORD: &str = "opsdeck-admin-pw";
pub const VIEWER_PASSWORD: &str = "opsdeck-viewer-pw";
/// The line the failing task writes before it exits 1.
pub const FAILURE_LINE: &str = "ERROR: training failed: validation AUC 0.41 below 0.80";

/// The tests' DAGs: file name and source. None is scheduled; each test
/// triggers what it needs with run ids of its own.
const DAGS: &[(&str, &str)] = &[
    (
        "opsdeck_ok.py",
        r#"from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("opsdeck_ok", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         tags=["etl", "opsdeck"]):
    BashOperator(task_id="extract", bash_command="echo extract done") >> \
        BashOperator(task_id="load", bash_command="echo load done")
"#,
    ),
    (
        "opsdeck_fail.py",
        r#"from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("opsdeck_fail", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         tags=["ml", "opsdeck"], default_args={"retries": 0}):
    BashOperator(task_id="prepare", bash_command="echo prepare ok") >> \
        BashOperator(task_id="train", bash_command="echo train starting; echo 'ERROR: training failed: validation AUC 0.41 below 0.80' >&2; exit 1") >> \
        BashOperator(task_id="register", bash_command="echo registered")
"#,
    ),
    (
        "opsdeck_params.py",
        r#"from datetime import datetime
from airflow.sdk import DAG, Param
from airflow.providers.standard.operators.bash import BashOperator
with DAG("opsdeck_params", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         tags=["ml", "opsdeck"],
         params={"model": Param("fraud", type="string", description="which model"),
                 "epochs": Param(3, type="integer", minimum=1),
                 "mode": Param("fast", enum=["fast", "full"])}):
    BashOperator(task_id="echo_conf",
                 bash_command="echo model={{ params.model }} epochs={{ params.epochs }}")
"#,
    ),
    (
        "opsdeck_slow.py",
        r#"from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("opsdeck_slow", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         tags=["etl"]):
    BashOperator(task_id="wait", bash_command="echo waiting; sleep 300") >> \
        BashOperator(task_id="after", bash_command="echo after")
"#,
    ),
    (
        "opsdeck_pause.py",
        r#"from datetime import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
with DAG("opsdeck_pause", start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         tags=["etl"]):
    BashOperator(task_id="only", bash_command="echo only")
"#,
    ),
];

pub struct Airflow {
    pub api: Server,
    _scheduler: Server,
    _processor: Server,
    /// From launch to the DAGs listed by the API.
    pub started_in: Duration,
}

static AIRFLOW: OnceLock<Result<Airflow, Missing>> = OnceLock::new();

/// The shared Airflow, or None (after the calling test said it is skipped,
/// or failed under CI) when it is not installed.
pub fn airflow() -> Option<&'static Airflow> {
    shared(&AIRFLOW, start, HOW)
}

fn start() -> Result<Airflow, Missing> {
    let venv = dirs::home_dir()
        .map(|h| h.join(".cache/opsdeck/airflow-venv/bin/airflow"))
        .into_iter()
        .collect::<Vec<PathBuf>>();
    let airflow = locate("OPSDECK_AIRFLOW", "airflow", &venv)?;
    let launched = Instant::now();
    let home: PathBuf = tempfile::Builder::new()
        .prefix("opsdeck-airflow-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let dags = home.join("dags");
    std::fs::create_dir_all(&dags).expect("dags dir");
    for (file, source) in DAGS {
        std::fs::write(dags.join(file), source).expect("dag file");
    }
    let passwords = home.join("passwords.json");
    std::fs::write(
        &passwords,
        json!({"admin": ADMIN_PASSWORD, "viewer": VIEWER_PASSWORD}).to_string(),
    )
    .expect("passwords file");
    // SQLite waits up to 30 s for a lock instead of its 5 s, after which
    // a write while the scheduler writes is answered `500 Database error`:
    // connect arguments are an import path, so a module holds them.
    let python = home.join("python");
    std::fs::create_dir_all(&python).expect("python dir");
    std::fs::write(
        python.join("opsdeck_sqlite.py"),
        "CONNECT_ARGS = {\"timeout\": 30}\n",
    )
    .expect("connect args module");
    let secret = format!(
        "opsdeck-test-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    let mut env: Vec<(String, String)> = vec![
        ("AIRFLOW_HOME", home.display().to_string()),
        ("AIRFLOW__CORE__DAGS_FOLDER", dags.display().to_string()),
        ("AIRFLOW__CORE__LOAD_EXAMPLES", "False".into()),
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            format!("sqlite:///{}", home.join("airflow.db").display()),
        ),
        ("PYTHONPATH", python.display().to_string()),
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS",
            "opsdeck_sqlite.CONNECT_ARGS".into(),
        ),
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC",
            "opsdeck_sqlite.CONNECT_ARGS".into(),
        ),
        ("AIRFLOW__API_AUTH__JWT_SECRET", secret),
        (
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
            "admin:admin,viewer:viewer".into(),
        ),
        (
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
            passwords.display().to_string(),
        ),
        ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False".into()),
        // Four workers, not 32 (memory); one API worker.
        ("AIRFLOW__CORE__PARALLELISM", "4".into()),
        ("AIRFLOW__API__WORKERS", "1".into()),
        // A new DAG file is seen in seconds, not minutes; a killed task
        // dies within a second.
        ("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "5".into()),
        (
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL",
            "5".into(),
        ),
        ("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let migrate = std::process::Command::new(&airflow)
        .args(["db", "migrate"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run airflow db migrate");
    assert!(
        migrate.status.success(),
        "airflow db migrate failed:\n{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let run_dir = |name: &str| {
        let dir = home.join(name);
        std::fs::create_dir_all(&dir).expect("run dir");
        dir
    };
    let api_env = env.clone();
    let api = Server::start(
        &airflow,
        &strings(&["api-server", "--host", "127.0.0.1", "--port", "0"]),
        run_dir("api-server"),
        &borrowed(&api_env),
        START_TIMEOUT,
    );
    api.wait_ready("/api/v2/monitor/health", START_TIMEOUT);
    // Task workers report to the API server: now its port is known.
    env.push((
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL".into(),
        format!("{}/execution/", api.url()),
    ));
    let worker_env = env.clone();
    // The scheduler's dir is the whole AIRFLOW_HOME: it goes when the
    // scheduler does (the others' dirs are inside it).
    let scheduler = Server::spawn(
        &airflow,
        &strings(&["scheduler", "--skip-serve-logs"]),
        home.clone(),
        &borrowed(&worker_env),
    );
    let processor = Server::spawn(
        &airflow,
        &strings(&["dag-processor"]),
        run_dir("dag-processor"),
        &borrowed(&worker_env),
    );
    let url = api.url();
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let listed = block_on_thread(async {
            let token = token(&url, "admin", ADMIN_PASSWORD).await;
            let dags = get(&url, &token, "/api/v2/dags").await;
            dags["dags"].as_array().map_or(0, Vec::len)
        });
        if listed >= DAGS.len() {
            break;
        }
        scheduler.assert_running("the DAGs were listed");
        processor.assert_running("the DAGs were listed");
        assert!(
            Instant::now() < deadline,
            "Airflow listed {listed} of {} DAGs within {START_TIMEOUT:?}:\n{}",
            DAGS.len(),
            processor.log_tail()
        );
        std::thread::sleep(POLL_INTERVAL);
    }
    let started_in = launched.elapsed();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("airflow: started in {started_in:?} (migrate, api-server, scheduler, dag-processor; DAGs listed)\n")
            .as_bytes(),
    );
    Ok(Airflow {
        api,
        _scheduler: scheduler,
        _processor: processor,
        started_in,
    })
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

impl Airflow {
    pub fn url(&self) -> String {
        self.api.url()
    }

    /// A source's config reading this Airflow as `user` (password from
    /// the env var `AIRFLOW_TEST_PASSWORD` is avoided: a file per user).
    pub fn config(&self, name: &str, user: &str, dir: &std::path::Path, extra: &str) -> String {
        let password = match user {
            "viewer" => VIEWER_PASSWORD,
            "admin" => ADMIN_PASSWORD,
            other => other,
        };
        let file = dir.join(format!("{name}-{user}-password"));
        std::fs::write(&file, password).expect("password file");
        format!(
            "[[source]]\nname = \"{name}\"\nkind = \"airflow\"\nurl = \"{}\"\nusername = \"{user}\"\n\
             password = {{ file = \"{}\" }}\ntimeout = \"30s\"\n{extra}\n",
            self.url(),
            file.display()
        )
    }

    /// Trigger `dag` as admin with this run id and conf; the run as answered.
    /// Airflow on SQLite answers a write `500 Database error` now and then
    /// while other tests write (the database is locked): the trigger is
    /// sent again (its run id makes that safe: a run already made is read).
    pub async fn trigger(&self, dag: &str, run_id: &str, conf: Value) -> Value {
        let url = self.url();
        let token = token(&url, "admin", ADMIN_PASSWORD).await;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let response = reqwest::Client::new()
                .post(format!("{url}/api/v2/dags/{dag}/dagRuns"))
                .bearer_auth(&token)
                .json(&json!({"dag_run_id": run_id, "logical_date": null, "conf": conf}))
                .send()
                .await
                .expect("trigger");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return body;
            }
            let locked = status.as_u16() == 500 && body.to_string().contains("Database error");
            if locked && attempts < 5 {
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            if status.as_u16() == 409 && attempts > 1 {
                return self
                    .get(&format!("/api/v2/dags/{dag}/dagRuns/{run_id}"))
                    .await;
            }
            panic!("trigger {dag}/{run_id}: {status} {body}");
        }
    }

    /// A GET as admin (setup and checks only).
    pub async fn get(&self, path: &str) -> Value {
        let url = self.url();
        let token = token(&url, "admin", ADMIN_PASSWORD).await;
        get(&url, &token, path).await
    }

    /// A POST as admin (a dry run of a clear, to compare with).
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let url = self.url();
        let token = token(&url, "admin", ADMIN_PASSWORD).await;
        let response = reqwest::Client::new()
            .post(format!("{url}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    /// Wait until the run is in one of `states` (or fail with what it is).
    pub async fn wait_run(&self, dag: &str, run: &str, states: &[&str], within: Duration) -> Value {
        let path = format!(
            "/api/v2/dags/{dag}/dagRuns/{}",
            opsdeck::sources::http::path_segment(run)
        );
        self.wait(&path, within, |v| {
            states.contains(&v["state"].as_str().unwrap_or(""))
        })
        .await
    }

    /// Wait until `GET path` answers what `done` accepts.
    pub async fn wait(&self, path: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let now = self.get(path).await;
            if done(&now) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path} did not reach the state waited for within {within:?}: {now}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Task id → (state, try number) of a run.
    pub async fn tasks(&self, dag: &str, run: &str) -> Vec<(String, String, u64)> {
        let path = format!(
            "/api/v2/dags/{dag}/dagRuns/{}/taskInstances",
            opsdeck::sources::http::path_segment(run)
        );
        let list = self.get(&path).await;
        let mut tasks: Vec<(String, String, u64)> = list["task_instances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["task_id"].as_str().unwrap_or("").to_string(),
                    t["state"].as_str().unwrap_or("none").to_string(),
                    t["try_number"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        tasks.sort();
        tasks
    }
}

/// Log in as `user`: a JWT.
pub async fn token(url: &str, user: &str, password: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{url}/auth/token"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("login");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "login as {user}: {status} {body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn get(url: &str, token: &str, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("get");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "GET {path}: {status} {body}");
    body
}
