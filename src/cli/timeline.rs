//! `opsdeck timeline` and `opsdeck why`: read every source once, build the
//! timeline with the dashboard's code (`crate::timeline`), and print it.
//! Both JSON documents are contracts (see README).

use serde::Serialize;

use super::{EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, Globals, fail};
use crate::config::{Config, parse_duration};
use crate::model::short_rev;
use crate::timeline::{self, Event, Settings, SourceView, Timeline, format_time};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimelineFormat {
    Table,
    Json,
}

/// What one headless read gives: the timeline, the sources' states and
/// which sources could not be read.
struct Built {
    timeline: Timeline,
    reads: Vec<super::Read>,
    settings: Settings,
    now: crate::model::Timestamp,
}

impl Built {
    fn views(&self) -> Vec<SourceView<'_>> {
        self.reads
            .iter()
            .map(|r| SourceView {
                name: &r.state.name,
                snapshot: &r.state.snapshot,
            })
            .collect()
    }

    fn failed(&self) -> Vec<String> {
        self.reads
            .iter()
            .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.state.name)))
            .collect()
    }
}

async fn build(globals: &Globals, config: &Config, reach: Option<chrono::Duration>) -> Built {
    let mut settings = Settings::from(&config.timeline);
    if let Some(r) = reach {
        settings.window = settings.window.max(r);
    }
    let sources = crate::sources::build_all(config);
    let reads = super::read_all(&sources, &config.sources).await;
    let now = chrono::Utc::now();
    let audit = timeline::audit::read(&globals.audit_path(config), now - settings.window)
        .unwrap_or_else(|e| {
            eprintln!("opsdeck: cannot read the audit log: {e}");
            Vec::new()
        });
    let views: Vec<SourceView> = reads
        .iter()
        .map(|r| SourceView {
            name: &r.state.name,
            snapshot: &r.state.snapshot,
        })
        .collect();
    let timeline = Timeline::build(&views, &audit, &settings, now);
    Built {
        timeline,
        reads,
        settings,
        now,
    }
}

#[derive(Serialize)]
struct TimelineDoc<'a> {
    since: String,
    events: Vec<&'a Event>,
}

/// `opsdeck timeline [--since D] [--target SOURCE/NAME]`: exit 0, or 2 when
/// a source could not be read (the others' events are still printed).
pub async fn timeline(
    globals: Globals,
    since: Option<String>,
    target: Option<String>,
    format: TimelineFormat,
) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let reach = match since.as_deref().map(parse_duration).transpose() {
        Ok(d) => d.and_then(|d| chrono::Duration::from_std(d).ok()),
        Err(e) => return fail(format!("--since: {e}")),
    };
    let built = build(&globals, &config, reach).await;
    let since = built.now - reach.unwrap_or(built.settings.window);
    let events: Vec<&Event> = built.timeline.select(since, target.as_deref()).collect();
    match format {
        TimelineFormat::Json => {
            let doc = TimelineDoc {
                since: format_time(&since),
                events,
            };
            match serde_json::to_string_pretty(&doc) {
                Ok(json) => println!("{json}"),
                Err(e) => return fail(format!("cannot encode the timeline: {e}")),
            }
        }
        TimelineFormat::Table => {
            for e in &events {
                println!("{}", table_row(e));
            }
            if events.is_empty() {
                println!("nothing since {}", format_time(&since));
            }
        }
    }
    let failed = built.failed();
    for f in &failed {
        eprintln!("opsdeck: {f}");
    }
    if failed.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    }
}

/// One event as a table line: time, loop, target, what, revision, verdict.
pub fn table_row(e: &Event) -> String {
    format!(
        "{}  {} {:<28} {:<56} {:<7} {}",
        format_time(&e.time),
        e.kind.symbol(),
        e.target,
        e.summary,
        e.revision.as_deref().map_or("-", short_rev),
        e.verdict.map_or(e.status.clone(), |v| v.to_string())
    )
}

/// How many suspects the table shows.
const TABLE_SUSPECTS: usize = 15;

/// `opsdeck why SOURCE/NAME`: exit 0 when it has no problem, 1 when it has
/// one (suspects listed, possibly none), 2 when it could not be read.
pub async fn why(globals: Globals, target: String, format: TimelineFormat) -> u8 {
    let config = match globals.load_config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let built = build(&globals, &config, None).await;
    let source = target.split_once('/').map_or("", |(s, _)| s);
    if let Some(r) = built.reads.iter().find(|r| r.state.name == source)
        && let Some(e) = &r.error
    {
        return fail(format!("{source} could not be read: {e}"));
    }
    let views = built.views();
    let answer =
        match timeline::why::why(&built.timeline, &views, &target, &built.settings, built.now) {
            Ok(a) => a,
            Err(e) => return fail(e),
        };
    match format {
        TimelineFormat::Json => match serde_json::to_string_pretty(&answer) {
            Ok(json) => println!("{json}"),
            Err(e) => return fail(format!("cannot encode the answer: {e}")),
        },
        TimelineFormat::Table => {
            match &answer.problem {
                Some(p) => println!(
                    "{}: {} since {} — {}",
                    answer.target,
                    p.status,
                    p.since
                        .map_or("an unknown time".into(), |s| format_time(&s)),
                    p.summary
                ),
                None => println!("{}: no problem now", answer.target),
            }
            if !answer.chain.is_empty() {
                println!("\nchain:");
                for line in &answer.chain {
                    println!("  {line}");
                }
            }
            println!("\nsuspects:");
            for s in answer.suspects.iter().take(TABLE_SUSPECTS) {
                println!("  {:>2}. {}", s.rank, s.reason);
            }
            match answer.suspects.len() {
                0 => println!("  none in the window"),
                n if n > TABLE_SUSPECTS => println!(
                    "  … and {} more (--format json lists them all)",
                    n - TABLE_SUSPECTS
                ),
                _ => {}
            }
        }
    }
    if answer.problem.is_some() {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    }
}
