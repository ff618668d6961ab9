//! From the typed command line to a run: resolve options into decisions, wire the stages each
//! command needs, and map the outcome to an exit code.

use std::io::{self, Write};

use anyhow::{Context, bail};

use crate::alert::{Engine, Replay};
use crate::cli::{
    AlertsArgs, Cli, Command, ConfigArgs, ConfigCmd, EventsArgs, InputArgs, PoolArgs, ReportArgs,
};
use crate::config::{self, Config};
use crate::event::{Event, Millis};
use crate::export;
use crate::pipeline::{self, ReadOptions, ReadStats};
use crate::pool::{Pool, PoolConfig};
use crate::source::Input;

/// Exit status of a run (before `gwmon check`'s monitoring-plugin codes).
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 2;

/// Parse `--since`/`--until`: RFC 3339, `YYYY-MM-DD` (UTC midnight) or a duration back from now.
pub fn parse_time_arg(s: &str, now: Millis) -> anyhow::Result<Millis> {
    let s = s.trim();
    if let Some(t) = crate::decode::time::parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis()));
    }
    if let Some(ms) = parse_duration_ms(s) {
        return Ok(now - ms);
    }
    bail!("`{s}` is not a time (examples: 2026-03-04T09:00:00Z, 2026-03-04, 6h, 7d)")
}

/// `90s`, `15m`, `6h`, `7d`, `1w` → milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match unit.trim() {
        "ms" => 1.0,
        "s" | "sec" => 1e3,
        "m" | "min" => 60e3,
        "h" => 3600e3,
        "d" => 86400e3,
        "w" => 7.0 * 86400e3,
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 0.0).then_some(v as i64)
}

pub fn inputs(files: &[String]) -> Vec<Input> {
    if files.is_empty() {
        vec![Input::Stdin]
    } else {
        files.iter().map(|f| Input::from_arg(f)).collect()
    }
}

fn read_options(a: &InputArgs) -> ReadOptions {
    ReadOptions {
        format: a.format,
        max_line: a.max_line_length,
        verbose: a.verbose,
        threads: a.threads,
    }
}

/// Flags win over the config file.
pub fn pool_config(a: &PoolArgs, cfg: &Config) -> PoolConfig {
    PoolConfig {
        pool_size: a.pool_size.or(cfg.pool.size),
        max_orgs: a.max_orgs.unwrap_or(cfg.pool.max_orgs).max(1),
    }
}

pub fn load_config(a: &ConfigArgs) -> anyhow::Result<Config> {
    config::load(a.config.as_deref(), &a.set)
}

/// The time window asked for with `--since`/`--until`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    pub since: Option<Millis>,
    pub until: Option<Millis>,
}

impl Window {
    pub fn from_args(a: &InputArgs) -> anyhow::Result<Window> {
        let now = chrono::Utc::now().timestamp_millis();
        let since = a
            .since
            .as_deref()
            .map(|s| parse_time_arg(s, now))
            .transpose()
            .context("--since")?;
        let until = a
            .until
            .as_deref()
            .map(|s| parse_time_arg(s, now))
            .transpose()
            .context("--until")?;
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            bail!("--until must be later than --since");
        }
        Ok(Window { since, until })
    }
}

/// Read the inputs and apply every event of the window to `pool`, calling `each` with each
/// counted event after the pool has annotated it.
pub fn replay(
    input: &InputArgs,
    pool: &mut Pool,
    mut each: impl FnMut(&mut Event, &mut Pool) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let window = Window::from_args(input)?;
    let inputs = inputs(&input.files);
    let readers = pipeline::open_all(&inputs)?;
    if window.since.is_some() {
        pool.counting = false;
    }
    pipeline::read_merged(&inputs, readers, &read_options(input), |mut ev| {
        if window.until.is_some_and(|u| ev.time >= u) {
            return Ok(());
        }
        if let Some(s) = window.since
            && ev.time >= s
        {
            pool.start_counting(s);
        }
        each(&mut ev, pool)
    })
}

/// Whether an error is a closed stdout (`gwmon report | head -1`): then end quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Report(a) => report(a),
        Command::Events(a) if a.follow_mode => crate::watch::events_follow(a),
        Command::Events(a) => events(a),
        Command::Watch(a) => crate::watch::watch(*a),
        Command::Alerts(a) => alerts(a),
        Command::Check(a) => Ok(crate::check::check(a)),
        Command::Top(a) => crate::tui::top(a),
        Command::Config(a) => config_cmd(a),
        Command::Simulate(a) => crate::simulate::run(&a).map(|()| EXIT_OK),
        Command::Generate(a) => export::docs::generate(&a).map(|()| EXIT_OK),
    }
}

fn status(stats: &ReadStats) -> u8 {
    if stats.errors > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// Replay the inputs through the pool and the alert engine; `each` sees every notification.
fn replay_alerts(
    input: &InputArgs,
    pool: &mut Pool,
    engine: &mut Engine,
    mut each: impl FnMut(&crate::alert::Notification) -> anyhow::Result<()>,
) -> anyhow::Result<ReadStats> {
    let mut notes = Vec::new();
    let stats = replay(input, pool, |ev, pool| {
        if pool.counting {
            Replay { pool, engine }.event(ev, &mut notes);
        } else {
            pool.apply(ev);
            engine.observe(ev);
        }
        for n in notes.drain(..) {
            each(&n)?;
        }
        Ok(())
    })?;
    Ok(stats)
}

fn report(a: ReportArgs) -> anyhow::Result<u8> {
    let cfg = load_config(&a.config)?;
    let mut pool = Pool::new(pool_config(&a.pool, &cfg));
    let mut engine = Engine::new(cfg.alerts.clone());
    // The report lists the alerts' history; no notification is wanted (nor built).
    engine.notify = false;
    let stats = replay_alerts(&a.input, &mut pool, &mut engine, |_| Ok(()))?;
    let mut report = pool.report(&stats);
    report.alerts = engine.history.clone();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if a.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if a.prometheus {
        let now = pool.now.unwrap_or(0);
        out.write_all(
            export::prometheus::render(
                &pool,
                Some(&engine),
                &stats,
                now,
                export::prometheus::Format::Text,
                &export::prometheus::Options {
                    per_org: a.org_metrics,
                },
            )
            .as_bytes(),
        )?;
    } else {
        let color =
            crate::term::use_color(a.color, std::io::IsTerminal::is_terminal(&io::stdout()));
        export::text::write_report(&mut out, &report, color)?;
    }
    out.flush()?;
    Ok(status(&stats))
}

fn events(a: EventsArgs) -> anyhow::Result<u8> {
    let mut pool = Pool::new(pool_config(&a.pool, &Config::default()));
    let names: Vec<String> = inputs(&a.input.files).iter().map(Input::name).collect();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let verbose = a.input.verbose;
    let stats = replay(&a.input, &mut pool, |ev, pool| {
        pool.apply(ev);
        if pool.counting {
            export::events::write_event(&mut out, ev, &names, verbose)?;
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(status(&stats))
}

fn alerts(a: AlertsArgs) -> anyhow::Result<u8> {
    let cfg = load_config(&a.config)?;
    let mut pool = Pool::new(pool_config(&a.pool, &cfg));
    let mut engine = Engine::new(cfg.alerts.clone());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut counts: std::collections::BTreeMap<String, (u64, u64)> = crate::alert::RULES
        .iter()
        .map(|r| ((*r).to_owned(), (0, 0)))
        .collect();
    let stats = replay_alerts(&a.input, &mut pool, &mut engine, |n| {
        let c = counts.entry(n.alert.rule.clone()).or_default();
        match n.status {
            crate::alert::Status::Firing if !n.repeat => c.0 += 1,
            crate::alert::Status::Resolved => c.1 += 1,
            _ => {}
        }
        if n.repeat && !a.repeats {
            return Ok(());
        }
        if a.json {
            serde_json::to_writer(&mut out, n)?;
            writeln!(out)?;
        } else {
            writeln!(out, "{}", crate::alert::sinks::human_line(n, false))?;
        }
        Ok(())
    })?;
    if !a.json {
        writeln!(out)?;
        writeln!(
            out,
            "{:<20} {:>6} {:>9} {:>12}",
            "rule", "fired", "resolved", "still firing"
        )?;
        for (rule, (f, r)) in &counts {
            writeln!(out, "{rule:<20} {f:>6} {r:>9} {:>12}", f.saturating_sub(*r))?;
        }
    }
    out.flush()?;
    Ok(status(&stats))
}

fn config_cmd(a: ConfigCmd) -> anyhow::Result<u8> {
    if a.print_default {
        print!("{}", config::DEFAULT_TOML);
        return Ok(EXIT_OK);
    }
    let cfg = load_config(&a.config)?;
    let from = config::config_path(a.config.config.as_deref())
        .map_or("built-in defaults".to_owned(), |p| p.display().to_string());
    println!("# effective configuration ({from})");
    print!("{}", toml::to_string_pretty(&cfg)?);
    Ok(EXIT_OK)
}
