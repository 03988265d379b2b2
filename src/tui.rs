//! The event loop: starts the sources and the executor, reads keys, feeds
//! everything through `app::update_batch`, draws with `ui` only when dirty.
//! One turn: wait for something, take everything else already waiting,
//! apply it all and settle once, perform the effects, draw when due. A key
//! (or a resize) is a turn of its own, drawn at once: it never waits
//! behind a batch of source events and its rebuild.

use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, bail, eyre};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use crate::app::audit::AuditLog;
use crate::app::executor::Executor;
use crate::app::notify::Notifier;
use crate::app::state::SourceState;
use crate::app::{Effect, Keymap, Msg, State, update, update_batch};
use crate::config::{Config, ConfigErrors};
use crate::model::{Action, Target, TargetKind};
use crate::sources::{self, Source, SourceEvent};
use crate::theme::{TermCaps, Theme};
use crate::{term, ui};

mod handoff;

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
    ensure_terminal()?;
    let theme = theme(&config, &options)?;
    let keymap = Keymap::from_config(&config.keys).map_err(|e| eyre!("{}", ConfigErrors(e)))?;
    let custom = crate::app::custom::Custom::from_config(&config.commands, &keymap)
        .map_err(|e| eyre!("{}", ConfigErrors(e)))?;
    let read_only = options.read_only || config.read_only;

    let sources = sources::build_all(&config);
    let states = source_states(&config, &sources);
    let mut state = State::new(states, keymap, read_only, chrono::Utc::now());
    state.custom = custom;
    state.timeline.settings = crate::timeline::Settings::from(&config.timeline);
    state.timeline.user = crate::model::Operator::current().user;
    // What opsdeck did before (this session or another) is on the timeline.
    match crate::timeline::audit::read(
        &options.audit_log,
        state.now - state.timeline.settings.window,
    ) {
        Ok(events) => state.timeline.add(events),
        Err(e) => tracing::warn!(error = %e, "cannot read the audit log for the timeline"),
    }
    let (mut inbox, effects) = start(sources, options.audit_log, read_only)?;
    let mut notifier = Notifier::new(config.notify.clone(), std::env::var_os("TMUX").is_some());

    term::install_panic_hook();
    let mut terminal = term::enter()?;
    let result = event_loop(
        &mut terminal,
        &mut state,
        &theme,
        &mut inbox,
        &effects,
        &mut notifier,
    )
    .await;
    let restored = term::restore();
    result?;
    restored?;
    Ok(())
}

fn ensure_terminal() -> Result<()> {
    if !term::is_interactive() {
        bail!(
            "the dashboard needs a terminal, but stdin or stdout is not one.\n\
             For scripts use `opsdeck status --format json`; for one action, `opsdeck sync|rollback|… --yes`."
        );
    }
    Ok(())
}

/// The configured theme for this terminal, ASCII when asked.
fn theme(config: &Config, options: &TuiOptions) -> Result<Theme> {
    let caps = TermCaps::from_env();
    let mut theme = Theme::resolve(config.theme.as_ref(), &caps).map_err(|e| eyre!("{e}"))?;
    if let Some(ascii) = options.ascii.or(config.ascii) {
        theme.ascii = ascii;
    }
    Ok(theme)
}

/// Each source as the state first knows it: loading, with what it can do.
fn source_states(config: &Config, sources: &[Arc<dyn Source>]) -> Vec<SourceState> {
    sources
        .iter()
        .zip(&config.sources)
        .map(|(s, c)| SourceState::of(s.as_ref(), c.production))
        .collect()
}

/// Start one task per source and the action executor, and listen for the
/// signals that end the session.
fn start(
    sources: Vec<Arc<dyn Source>>,
    audit_log: std::path::PathBuf,
    read_only: bool,
) -> Result<(Inbox, Effects)> {
    let (source_tx, source_rx) = mpsc::channel::<SourceEvent>(64);
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>(64);
    let (action_tx, action_rx) = mpsc::channel(16);
    let (wakes, pollers) = sources::spawn_all(&sources, source_tx);
    let signals = Signals::new()?;
    let executor = Arc::new(Executor::new(
        sources.clone(),
        AuditLog::new(audit_log, "tui"),
        read_only,
    ));
    executor.clone().spawn(action_rx, msg_tx.clone());
    let inbox = Inbox {
        keys: EventStream::new(),
        sources: source_rx,
        msgs: msg_rx,
        signals,
        last_tick: Instant::now(),
    };
    let effects = Effects {
        read_only,
        sources,
        wakes,
        _pollers: pollers,
        executor,
        actions: action_tx,
        msgs: msg_tx,
    };
    Ok((inbox, effects))
}

/// Turn after turn until a quit, a signal, or the terminal goes away.
async fn event_loop(
    terminal: &mut term::Term,
    state: &mut State,
    theme: &Theme,
    inbox: &mut Inbox,
    effects: &Effects,
    notifier: &mut Notifier,
) -> Result<()> {
    let size = terminal.size()?;
    update(state, Msg::Resize(size.width, size.height));
    let mut last_draw: Option<Instant> = None;
    let mut input = false;
    loop {
        // A key is drawn at once; the rest at most once a frame.
        let due = input || last_draw.is_none_or(|t| Instant::now() >= t + FRAME_INTERVAL);
        if state.dirty && due {
            terminal.draw(|frame| ui::draw(frame, state, theme))?;
            state.dirty = false;
            last_draw = Some(Instant::now());
        }
        let next_frame = last_draw.map_or(Instant::now(), |t| t + FRAME_INTERVAL);
        let Some(msgs) = inbox.next_batch(state, next_frame).await? else {
            return Ok(());
        };
        input = matches!(msgs.first(), Some(Msg::Key(_) | Msg::Resize(..)));
        // The whole batch is applied before derived data is rebuilt, once.
        let (foreground, rest): (Vec<Effect>, Vec<Effect>) = update_batch(state, msgs)
            .into_iter()
            .partition(|e| matches!(e, Effect::Command(run) if !run.background));
        let quit = effects.perform(rest).await;
        for effect in foreground {
            if let Effect::Command(run) = effect {
                let exit = handoff::foreground(
                    terminal,
                    &mut inbox.keys,
                    effects.executor.audit(),
                    effects.read_only,
                    &run,
                )
                .await?;
                let size = terminal.size()?;
                let (id, name) = (run.id, run.name);
                let back = [
                    Msg::CommandExited { id, name, exit },
                    Msg::Resize(size.width, size.height),
                ];
                effects.perform(update_batch(state, back)).await;
            }
        }
        let events = state.problems.take_events();
        if let Some(bytes) = notifier.offer(&events, state.now) {
            if let Err(e) = term::notify(&bytes) {
                tracing::warn!(error = %e, "notification failed");
            }
        }
        if quit || state.should_quit {
            return Ok(());
        }
    }
}

/// Where messages come from: keys, sources, loads and outcomes, the clock
/// and the signals that end the session.
struct Inbox {
    keys: EventStream,
    sources: mpsc::Receiver<SourceEvent>,
    msgs: mpsc::Receiver<Msg>,
    signals: Signals,
    last_tick: Instant,
}

impl Inbox {
    /// Wait for a message (or the next frame, when one is owed), then take
    /// everything already waiting. None: the session ends.
    async fn next_batch(&mut self, state: &State, next_frame: Instant) -> Result<Option<Vec<Msg>>> {
        let tick_every = if state.is_animating() {
            SPINNER_INTERVAL
        } else {
            CLOCK_INTERVAL
        };
        let mut msgs = Vec::new();
        tokio::select! {
            event = self.keys.next() => match event {
                Some(Ok(Event::Key(key))) => msgs.push(Msg::Key(key)),
                Some(Ok(Event::Resize(w, h))) => msgs.push(Msg::Resize(w, h)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(None),
            },
            Some(event) = self.sources.recv() => msgs.push(Msg::Source(event)),
            Some(msg) = self.msgs.recv() => msgs.push(msg),
            _ = tokio::time::sleep_until(self.last_tick + tick_every) => {
                self.last_tick = Instant::now();
                msgs.push(Msg::Tick(chrono::Utc::now()));
            }
            _ = tokio::time::sleep_until(next_frame), if state.dirty => {}
            _ = self.signals.ended() => return Ok(None),
        }
        // A key goes alone, to be drawn before what waits behind it is
        // applied; else take everything already waiting before drawing once.
        if matches!(msgs.first(), Some(Msg::Key(_) | Msg::Resize(..))) {
            return Ok(Some(msgs));
        }
        while let Ok(event) = self.sources.try_recv() {
            msgs.push(Msg::Source(event));
        }
        while let Ok(msg) = self.msgs.try_recv() {
            msgs.push(msg);
        }
        Ok(Some(msgs))
    }
}

/// SIGTERM, SIGHUP and SIGINT end the session cleanly.
struct Signals {
    term: Signal,
    hangup: Signal,
    interrupt: Signal,
}

impl Signals {
    fn new() -> Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    async fn ended(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hangup.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// What carries out the effects `update` returns.
struct Effects {
    /// Custom commands marked mutating are refused (as the executor refuses actions).
    read_only: bool,
    sources: Vec<Arc<dyn Source>>,
    /// Wakes a source's task to read again now.
    wakes: Vec<Arc<Notify>>,
    /// The source tasks, kept for the session.
    _pollers: Vec<tokio::task::JoinHandle<()>>,
    executor: Arc<Executor>,
    actions: mpsc::Sender<(u64, Action)>,
    /// Loads send their answer back through the loop.
    msgs: mpsc::Sender<Msg>,
}

impl Effects {
    /// Perform them in order; true when one asks to quit.
    async fn perform(&self, effects: Vec<Effect>) -> bool {
        let mut quit = false;
        for effect in effects {
            match effect {
                Effect::Run { id, action } => {
                    if self.actions.send((id, *action)).await.is_err() {
                        tracing::error!("the action executor stopped");
                    }
                }
                Effect::Refetch(i) => {
                    if let Some(wake) = self.wakes.get(i) {
                        wake.notify_one();
                    }
                }
                Effect::Copy(text) => {
                    if let Err(e) = term::copy_to_clipboard(&text) {
                        tracing::warn!(error = %e, "OSC 52 copy failed");
                    }
                }
                Effect::Command(run) => handoff::background(
                    self.executor.clone(),
                    self.read_only,
                    *run,
                    self.msgs.clone(),
                ),
                Effect::Quit => quit = true,
                load => self.load(load),
            }
        }
        quit
    }

    /// Load something for the screen off the event loop; its message comes
    /// back through the loop like any other.
    fn load(&self, effect: Effect) {
        let executor = self.executor.clone();
        let work: std::pin::Pin<Box<dyn Future<Output = Msg> + Send>> = match effect {
            Effect::LoadJobs { source, run_id } => {
                let target = self.target(source, TargetKind::Run, &run_id);
                Box::pin(async move {
                    let result = executor.run_jobs(source, &run_id).await;
                    Msg::Jobs { target, result }
                })
            }
            Effect::LoadAppDetail { source, app } => {
                let target = self.target(source, TargetKind::App, &app);
                Box::pin(async move {
                    let result = executor.app_detail(source, &app).await;
                    Msg::AppDetail { target, result }
                })
            }
            Effect::LoadLog {
                source,
                run_id,
                job_id,
            } => {
                let target = self.target(source, TargetKind::Run, &run_id);
                Box::pin(async move {
                    let result = executor.job_log(source, &run_id, &job_id).await;
                    Msg::Log {
                        target,
                        job: job_id,
                        result,
                    }
                })
            }
            Effect::LoadDispatchForm {
                source,
                pipeline,
                git_ref,
            } => {
                let target = self.target(source, TargetKind::Pipeline, &pipeline);
                Box::pin(async move {
                    let result = executor.dispatch_form(source, &pipeline).await;
                    Msg::DispatchForm {
                        target,
                        git_ref,
                        result,
                    }
                })
            }
            Effect::Run { .. }
            | Effect::Refetch(_)
            | Effect::Copy(_)
            | Effect::Command(_)
            | Effect::Quit => return,
        };
        let tx = self.msgs.clone();
        tokio::spawn(async move {
            let _ = tx.send(work.await).await;
        });
    }

    /// The target `id` of the source at `index`.
    fn target(&self, index: usize, kind: TargetKind, id: &str) -> Target {
        Target::new(self.sources.get(index).map_or("", |s| s.name()), kind, id)
    }
}
