//! A real Prometheus (Debian's `prometheus` + `promtool`), started once per
//! test binary: six hours of drift history backfilled with `promtool tsdb
//! create-blocks-from openmetrics`, and alert rules so that one model's
//! alert fires and another's is pending.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::server::{Missing, Server, http_get, locate, shared};

/// Prometheus starts in well under this, even on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Rules are evaluated every second; the alerts show within a few.
const ALERTS_TIMEOUT: Duration = Duration::from_secs(30);
/// History spacing and length of the backfill.
const SAMPLE_INTERVAL_S: i64 = 60;
const HISTORY_S: i64 = 7 * 3600;

const HOW: &str = "Install it with `apt-get install -y prometheus` (provides prometheus and promtool), \
                   or set OPSDECK_PROMETHEUS and OPSDECK_PROMTOOL.";

/// The running server and what was loaded into it.
pub struct Prometheus {
    pub server: Server,
    /// The time of the newest backfilled sample (unix seconds).
    pub newest: i64,
}

static PROMETHEUS: OnceLock<Result<Prometheus, Missing>> = OnceLock::new();

/// The shared server, or None (after the calling test said it is skipped,
/// or failed under CI) when Prometheus is not installed.
pub fn prometheus() -> Option<&'static Prometheus> {
    shared(&PROMETHEUS, start, HOW)
}

fn start() -> Result<Prometheus, Missing> {
    let prometheus = locate("OPSDECK_PROMETHEUS", "prometheus", &[])?;
    let promtool = locate("OPSDECK_PROMTOOL", "promtool", &[])?;
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("opsdeck-prometheus-")
        .tempdir()
        .expect("temp dir")
        .keep();
    let data = dir.join("data");
    let newest = chrono::Utc::now().timestamp() - 5;
    let history = dir.join("history.om");
    std::fs::write(&history, openmetrics(newest)).expect("write history");
    let out = std::process::Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&history)
        .arg(&data)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool backfill failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = dir.join("rules.yml");
    std::fs::write(&rules, RULES).expect("write rules");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files:\n  - {}\n",
            rules.display()
        ),
    )
    .expect("write config");
    let args = vec![
        format!("--config.file={}", config.display()),
        format!("--storage.tsdb.path={}", data.display()),
        // Port 0: Prometheus binds a free port itself and logs which.
        "--web.listen-address=127.0.0.1:0".into(),
        // The backfill ends when the harness starts; a long lookback keeps
        // "now" answering however long the tests take.
        "--query.lookback-delta=3h".into(),
        format!("--web.console.templates={}", dir.display()),
        format!("--web.console.libraries={}", dir.display()),
    ];
    let server = Server::start(&prometheus, &args, dir, &[], START_TIMEOUT);
    server.wait_ready("/-/ready", START_TIMEOUT);
    wait_for_alerts(&server);
    Ok(Prometheus { server, newest })
}

/// Rule evaluation starts after readiness: wait until both alerts show.
fn wait_for_alerts(server: &Server) {
    let deadline = Instant::now() + ALERTS_TIMEOUT;
    loop {
        if let Some((200, body)) = http_get(server.port, "/api/v1/alerts") {
            if body.contains("\"firing\"") && body.contains("\"pending\"") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "alerts did not fire/pend within {ALERTS_TIMEOUT:?}:\n{}",
            server.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// churn's age PSI climbs past critical in the last two hours; fraud's
/// p-value sinks under warn; `weird` only ever reports NaN and +Inf.
const RULES: &str = r#"groups:
  - name: drift
    rules:
      - alert: ModelDrifting
        expr: max by (model) (model_feature_psi) >= 0.25
        labels:
          severity: page
      - alert: ModelPvalueLow
        expr: min by (model) (model_feature_ks_pvalue) < 0.05
        for: 1h
"#;

/// The value of churn's age PSI `age_s` seconds before the newest sample.
pub fn churn_age_psi(age_s: i64) -> f64 {
    if age_s >= 2 * 3600 {
        0.05
    } else {
        // Linear from 0.05 two hours ago to 0.31 now.
        0.31 - 0.26 * age_s as f64 / 7200.0
    }
}

fn openmetrics(newest: i64) -> String {
    let times: Vec<i64> = (0..=HISTORY_S / SAMPLE_INTERVAL_S)
        .rev()
        .map(|i| newest - i * SAMPLE_INTERVAL_S)
        .collect();
    let mut om = String::new();
    let mut family = |name: &str, series: &[(&str, &dyn Fn(i64) -> String)]| {
        let _ = writeln!(om, "# TYPE {name} gauge");
        for (labels, value) in series {
            for t in &times {
                let _ = writeln!(om, "{name}{{{labels}}} {} {t}", value(newest - t));
            }
        }
    };
    family(
        "model_feature_psi",
        &[
            (r#"model="churn",feature="age",method="psi""#, &|age| {
                format!("{:.4}", churn_age_psi(age))
            }),
            (r#"model="churn",feature="income",method="psi""#, &|_| {
                "0.03".into()
            }),
            (r#"model="churn",feature="tenure",method="psi""#, &|_| {
                "0.15".into()
            }),
            (r#"model="weird",feature="nan",method="psi""#, &|_| {
                "NaN".into()
            }),
            (r#"model="weird",feature="inf",method="psi""#, &|_| {
                "+Inf".into()
            }),
        ],
    );
    family(
        "model_feature_ks_pvalue",
        &[(
            r#"model="fraud",feature="amount",method="ks_pvalue""#,
            &|age| {
                if age > 3600 {
                    "0.5".into()
                } else {
                    "0.04".into()
                }
            },
        )],
    );
    family(
        "model_info",
        &[
            (r#"model="churn",version="7""#, &|_| "1".into()),
            (r#"model="churn",version="6""#, &|_| "0".into()),
        ],
    );
    om.push_str("# EOF\n");
    om
}
