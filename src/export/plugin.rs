//! The monitoring-plugin status of `gwmon check` (Nagios, Icinga, Sensu, cron mail): a first
//! line `GWMON <STATE> - <text> | <perfdata>`, then one line per firing alert and the notes.

use crate::alert::{Alert, Engine, Rule, Severity};
use crate::exit::PluginState;
use crate::pool::Pool;
use crate::term::escape;

fn state_of(s: Severity) -> PluginState {
    match s {
        Severity::Critical => PluginState::Critical,
        Severity::Warning => PluginState::Warning,
        Severity::Info => PluginState::Ok,
    }
}

/// The plugin output and state for the pool and the engine's firing alerts. `problems` are
/// reasons not to trust the figures (the input yields nothing): the state is then UNKNOWN and
/// the first problem heads the output.
pub fn render(
    pool: &Pool,
    engine: &Engine,
    notes: &[String],
    problems: &[String],
) -> (PluginState, String) {
    let firing = engine.firing();
    let state = if problems.is_empty() {
        firing
            .iter()
            .map(|a| state_of(a.severity))
            .max()
            .unwrap_or(PluginState::Ok)
    } else {
        PluginState::Unknown
    };
    let total = pool.total();
    let avail = pool.available();
    let status = match (total, avail) {
        (Some(t), Some(av)) => format!("{av}/{t} available"),
        _ => format!("{} allocated (pool size unknown)", pool.allocated()),
    };
    let mut worst: Vec<&Alert> = firing.iter().collect();
    // A silent log first of all (the other figures are stale then), then the most severe.
    worst.sort_by_key(|a| {
        (
            a.rule != Rule::LogSilent,
            std::cmp::Reverse(state_of(a.severity)),
        )
    });
    let text = match worst.first() {
        _ if !problems.is_empty() => problems[0].clone(),
        Some(a) if state != PluginState::Ok => {
            let more = if firing.len() > 1 {
                format!(" (+{} more)", firing.len() - 1)
            } else {
                String::new()
            };
            let same = firing.iter().filter(|x| x.rule == a.rule).count();
            let head = a.rule.headline(
                engine.config(),
                same,
                a.value,
                a.labels.get("direction").map(String::as_str),
            );
            format!("{head}: {status}{more}")
        }
        _ => {
            let util = pool.utilization().map_or(String::new(), |u| {
                format!(", utilization {:.0}%", u * 100.0)
            });
            format!("{status}{util}, no alert firing")
        }
    };
    let low = engine.config().pool_low.available_at_most;
    let perf_total = total.map_or(String::new(), |t| t.to_string());
    let mut perf = Vec::new();
    if let (Some(t), Some(av)) = (total, avail) {
        perf.push(format!("available={av};{};0;0;{t}", low.resolve(t)));
    }
    perf.push(format!("allocated={};;;0;{perf_total}", pool.allocated()));
    perf.push(format!("orphaned={};;;0;{perf_total}", pool.orphaned_open));
    if let Some(u) = pool.utilization() {
        perf.push(format!("utilization={u:.4};;;0;1"));
    }
    let c = &pool.counters;
    perf.push(format!("attempts={}c", c.attempts));
    perf.push(format!("allocations={}c", c.allocated));
    perf.push(format!("failures={}c", c.failed));
    perf.push(format!("refusals={}c", c.exhaustion_failures));
    let mut out = format!(
        "GWMON {} - {} | {}\n",
        state.label(),
        escape(&text),
        perf.join(" ")
    );
    for a in &worst {
        out.push_str(&format!(
            "{} {}: {}\n",
            a.severity,
            a.rule,
            escape(&a.summary)
        ));
    }
    for p in problems.iter().skip(1) {
        out.push_str(&format!("problem: {}\n", escape(p)));
    }
    for n in notes {
        out.push_str(&format!("note: {}\n", escape(n)));
    }
    (state, out)
}
