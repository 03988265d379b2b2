//! The event loop: starts the sources and the executor, reads keys, feeds
//! everything through `app::update`, draws with `ui` only when dirty.

use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, bail, eyre};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::audit::AuditLog;
use crate::app::executor::Executor;
use crate::app::state::SourceState;
use crate::app::{Effect, Keymap, Msg, State, update};
use crate::config::{Config, ConfigErrors};
use crate::model::{ActionKind, Target, TargetKind};
use crate::sources::{self, SourceEvent};
use crate::theme::{TermCaps, Theme};
use crate::{term, ui};

/// At most one frame this often, however many messages arrive.
const FRAME_INTERVAL: Duration = Duration::from_millis(16);
/// The "updated 12s ago" clock ticks this often.
const CLOCK_INTERVAL: Duration = Duration::from_secs(1);
/// The spinner moves this often while something loads or an action is in flight.
const SPINNER_INTERVAL: Duration = Duration::from_millis(250);

/// What the dashboard needs beyond the config file.
pub struct TuiOptions {
    pub read_only: bool,
    pub audit_log: std::path::PathBuf,
    pub ascii: Option<bool>,
}

/// Run the dashboard until the engineer quits or the session ends.
pub async fn run(config: Config, options: TuiOptions) -> Result<()> {
    if !term::is_interactive() {
        bail!(
            "the dashboard needs a terminal, but stdin or stdout is not one.\n\
             For scripts use `opsdeck status --format json`; for one action, `opsdeck sync|rollback|… --yes`."
        );
    }
    let caps = TermCaps::from_env();
    let mut theme = Theme::resolve(config.theme.as_ref(), &caps).map_err(|e| eyre!("{e}"))?;
    if let Some(ascii) = options.ascii.or(config.ascii) {
        theme.ascii = ascii;
    }
    let keymap = Keymap::from_config(&config.keys).map_err(|e| eyre!("{}", ConfigErrors(e)))?;
    let read_only = options.read_only || config.read_only;

    let sources = sources::build_all(&config);
    let source_states = sources
        .iter()
        .zip(&config.sources)
        .map(|(s, c)| {
            let actions =
                <ActionKind as strum::IntoEnumIterator>::iter().filter(|k| s.supports(*k));
            SourceState::new(s.name(), s.kind(), s.provides(), c.production)
                .with_actions(actions)
                .with_warning(s.warning())
                .with_capabilities(s.capabilities())
        })
        .collect();
    let mut state = State::new(source_states, keymap, read_only, chrono::Utc::now());

    let (source_tx, mut source_rx) = mpsc::channel::<SourceEvent>(64);
    let (msg_tx, mut msg_rx) = mpsc::channel::<Msg>(64);
    let (action_tx, action_rx) = mpsc::channel(16);
    let (wakes, _pollers) = sources::spawn_all(&sources, source_tx);
    let executor = Arc::new(Executor::new(
        sources.clone(),
        AuditLog::new(options.audit_log, "tui"),
        read_only,
    ));
    executor.clone().spawn(action_rx, msg_tx.clone());

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;

    term::install_panic_hook();
    let mut terminal = term::enter()?;
    let size = terminal.size()?;
    update(&mut state, Msg::Resize(size.width, size.height));

    let mut events = EventStream::new();
    let mut last_draw: Option<Instant> = None;
    let mut last_tick = Instant::now();
    let result: Result<()> = loop {
        if state.dirty {
            let due = last_draw.map_or(Instant::now(), |t| t + FRAME_INTERVAL);
            if Instant::now() >= due {
                if let Err(e) = terminal.draw(|frame| ui::draw(frame, &state, &theme)) {
                    break Err(e.into());
                }
                state.dirty = false;
                last_draw = Some(Instant::now());
            }
        }
        let next_frame = last_draw.map_or(Instant::now(), |t| t + FRAME_INTERVAL);
        let tick_every = if state.is_animating() {
            SPINNER_INTERVAL
        } else {
            CLOCK_INTERVAL
        };
        let mut msgs = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => msgs.push(Msg::Key(key)),
                Some(Ok(Event::Resize(w, h))) => msgs.push(Msg::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            Some(event) = source_rx.recv() => msgs.push(Msg::Source(event)),
            Some(msg) = msg_rx.recv() => msgs.push(msg),
            _ = tokio::time::sleep_until(last_tick + tick_every) => {
                last_tick = Instant::now();
                msgs.push(Msg::Tick(chrono::Utc::now()));
            }
            _ = tokio::time::sleep_until(next_frame), if state.dirty => {}
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
            _ = sigint.recv() => break Ok(()),
        }
        // Take everything already waiting before drawing once.
        while let Ok(event) = source_rx.try_recv() {
            msgs.push(Msg::Source(event));
        }
        while let Ok(msg) = msg_rx.try_recv() {
            msgs.push(msg);
        }
        let mut quit = false;
        for msg in msgs {
            for effect in update(&mut state, msg) {
                match effect {
                    Effect::Run { id, action } => {
                        if action_tx.send((id, *action)).await.is_err() {
                            tracing::error!("the action executor stopped");
                        }
                    }
                    Effect::Refetch(i) => {
                        if let Some(wake) = wakes.get(i) {
                            wake.notify_one();
                        }
                    }
                    Effect::LoadJobs { source, run_id } => {
                        let executor = executor.clone();
                        let target = target_at(&sources, source, TargetKind::Run, &run_id);
                        spawn_load(&msg_tx, async move {
                            let result = executor.run_jobs(source, &run_id).await;
                            Msg::Jobs { target, result }
                        });
                    }
                    Effect::LoadAppDetail { source, app } => {
                        let executor = executor.clone();
                        let target = target_at(&sources, source, TargetKind::App, &app);
                        spawn_load(&msg_tx, async move {
                            let result = executor.app_detail(source, &app).await;
                            Msg::AppDetail { target, result }
                        });
                    }
                    Effect::LoadLog {
                        source,
                        run_id,
                        job_id,
                    } => {
                        let executor = executor.clone();
                        let target = target_at(&sources, source, TargetKind::Run, &run_id);
                        spawn_load(&msg_tx, async move {
                            let result = executor.job_log(source, &run_id, &job_id).await;
                            Msg::Log {
                                target,
                                job: job_id,
                                result,
                            }
                        });
                    }
                    Effect::LoadDispatchForm {
                        source,
                        pipeline,
                        git_ref,
                    } => {
                        let executor = executor.clone();
                        let target = target_at(&sources, source, TargetKind::Pipeline, &pipeline);
                        spawn_load(&msg_tx, async move {
                            let result = executor.dispatch_form(source, &pipeline).await;
                            Msg::DispatchForm {
                                target,
                                git_ref,
                                result,
                            }
                        });
                    }
                    Effect::Copy(text) => {
                        if let Err(e) = term::copy_to_clipboard(&text) {
                            tracing::warn!(error = %e, "OSC 52 copy failed");
                        }
                    }
                    Effect::Quit => quit = true,
                }
            }
        }
        if quit || state.should_quit {
            break Ok(());
        }
    };
    let restored = term::restore();
    result?;
    restored?;
    Ok(())
}

/// Load something for the screen off the event loop; its message comes back
/// through the loop like any other.
fn spawn_load(tx: &mpsc::Sender<Msg>, work: impl Future<Output = Msg> + Send + 'static) {
    let tx = tx.clone();
    tokio::spawn(async move {
        let _ = tx.send(work.await).await;
    });
}

/// The target `id` of the source at `index`.
fn target_at(
    sources: &[Arc<dyn sources::Source>],
    index: usize,
    kind: TargetKind,
    id: &str,
) -> Target {
    Target::new(sources.get(index).map_or("", |s| s.name()), kind, id)
}
