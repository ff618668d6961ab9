//! The command line, as typed (clap derive types only). [`crate::settings`] turns it, with the
//! configuration file, into the decisions the commands use. Durations, sizes and times are parsed
//! here by clap through the typed value parsers of [`crate::units`], so a bad value is told in
//! clap's one shape and before anything runs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::decode::Format;
use crate::term::ColorChoice;
use crate::units::size::parse_size;
use crate::units::time::parse_time_flag;
use crate::units::{Dur, Millis};

const ABOUT: &str = "Watch a gateway pool through the logs its service already writes.";

const LONG_ABOUT: &str = "\
Watch a gateway pool through the logs its service already writes.

gwmon reads the Holistix Forge gateway service's logs (files, rotated and compressed files, or
stdin; console lines, Docker json-file, OpenTelemetry OTLP/JSON or Loki logcli JSON lines),
recognizes the gateway lifecycle lines as typed events, rebuilds the pool over event time and
reports its metrics. Given the gateway containers' own logs too, it explains failures: handouts of
gateways still restarting, restart times, the gateways that stand out.";

/// Print a command-line error (or the help or version asked for) and say how the run ends: a
/// usage error of `gwmon check` is UNKNOWN (3), as a monitoring plugin's must be, never
/// CRITICAL (clap's 2).
pub fn usage_error(e: &clap::Error) -> crate::exit::Exit {
    use crate::exit::{Exit, PluginState};
    let _ = e.print();
    if !e.use_stderr() {
        return Exit::Success;
    }
    let check = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .is_some_and(|a| a == "check");
    if check {
        Exit::Plugin(PluginState::Unknown)
    } else {
        Exit::Error
    }
}

#[derive(Parser, Debug)]
#[command(name = "gwmon", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One-off report over historical logs: pool, allocations, durations, failures, organizations.
    #[command(long_about = "\
One-off report over historical logs: pool figures first, then allocations, durations, failures by
reason and why allocations failed, the hourly allocation rate, the longest allocations and the
busiest organizations.

Files are merged by event time, so rotated siblings can be named in any order:
    gwmon report /var/log/ganymede.log*
    docker logs ganymede 2>&1 | gwmon report
Name the gateway containers' own logs too (one file per container, or one stream naming them) to
see which failures hit gateways handed out while still restarting, and how long restarts take:
    gwmon report ganymede.log gateways/gw-pool-*.log
    logcli query --forward --output=jsonl '{app=\"ganymede\"}' | gwmon report --json

--html FILE writes the same report as one self-contained HTML page (inline CSS and SVG; it fetches
nothing and runs no script, so it works offline and as a mail attachment) with charts: the pool
over time with exhaustion episodes and gaps, allocations, reuses and failures per hour (per day
beyond three weeks), failures by reason, allocation and start-up time histograms with p50/p90/p99,
per-gateway allocations, failures and restart times, and the alert timeline. Every number in it is
the JSON report's:
    gwmon report --pool-size 8 --html report.html ganymede.log gateways/gw-pool-*.log")]
    Report(ReportArgs),
    /// Follow live logs (tail -F) or stdin and raise alerts as they happen.
    #[command(long_about = WATCH_LONG)]
    Watch(Box<WatchArgs>),
    /// Replay history through the alert rules: when each alert would have fired and resolved.
    #[command(long_about = "\
Replay history through the alert rules and print when each alert would have fired and resolved,
with a count per rule, so thresholds can be tuned on last month's logs before they are deployed:
    gwmon alerts --set alerts.failure_rate.threshold=0.3 /var/log/ganymede.log*
Time is event time; lasting conditions are evaluated every alerts.eval_interval between events.")]
    Alerts(AlertsArgs),
    /// Cron check: read what is new since the last run, evaluate the alerts, print a
    /// monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    #[command(long_about = CHECK_LONG)]
    Check(CheckArgs),
    /// Live terminal dashboard: pool, the pool in use over time, open allocations, failures,
    /// restarting gateways, alerts, the follower's notes (? shows the keys).
    #[command(long_about = "\
Live terminal dashboard of the pool: a gauge of allocated/available gateways, the gateways in use
over the last 6 hours and allocations per minute over the last two, the open allocations (orphaned
ones in red), failures by reason and exhaustion episodes, the gateways restarting now (with their
own logs), the firing and recently resolved alerts, and the follower's notes (a file missing,
rotated, unreadable). Follows the files like gwmon watch (the pool is rebuilt from their content
first) or stdin; redraws 4 times a second, never per line.

Keys: p or Space pauses the display (reading goes on), Tab/Shift-Tab moves the focus between
panels, arrows, PgUp/PgDn, Home/End scroll the focused panel, s sorts the open allocations (held
longest, organization, gateway), ? shows the keys, q, Esc or Ctrl-C quits. Text that does not fit
ends in …; below 60×18 one line says which size is needed.
    gwmon top --pool-size 8 /var/log/ganymede.log
    gwmon top --state ~/.cache/gwmon-top.json /var/log/ganymede.log   # restarts where it stopped")]
    Top(TopArgs),
    /// Print the default configuration, or check a configuration file.
    #[command(long_about = "\
Print the effective configuration (the file, then --set overrides), which also checks the file:
an unknown key or a bad value is an error naming the file, the line and the key. The file is
--config FILE, else $GWMON_CONFIG, else $XDG_CONFIG_HOME/gwmon/config.toml.
    gwmon config --print-default > ~/.config/gwmon/config.toml   # the commented defaults
    gwmon config --set alerts.pool_low.for=20m                    # what a run would use")]
    Config(ConfigCmd),
    /// The metrics over the logs' whole history as timestamped OpenMetrics, for
    /// `promtool tsdb create-blocks-from openmetrics`.
    #[command(long_about = BACKFILL_LONG)]
    Backfill(BackfillArgs),
    /// Print the recognized lifecycle events as JSON lines.
    #[command(long_about = "\
Print the recognized lifecycle events as JSON lines, one object per event, in event time order:
    {\"event\":\"allocated\",\"time\":\"2026-03-04T09:15:02.140Z\",\"org\":\"…\",\"gateway\":\"gw-pool-3\",\"port\":7103,\"source\":\"ganymede.log:12\"}
Deallocations and rollbacks carry the seconds the allocation was held (duration_s), alloc_ready
the milliseconds from allocation to ready (startup_ms); events of a gateway carry its container
name (gateway) and UUID (gateway_id) when known.
Derived events follow the event that caused them: gateway_down (cause idle, stop, rollback or
shutdown) and gateway_up (restart_s) from the gateways' restart marks, and pool_status (allocated,
orphaned, recycling, available, total; unknown ones null) after every change of those figures.
    gwmon events ganymede.log gateways/gw-pool-*.log | jq -c 'select(.event == \"alloc_failed\")'
    gwmon events --follow /var/log/ganymede.log >> /var/log/gwmon/events.jsonl   # to a shipper")]
    Events(EventsArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    #[command(long_about = "\
Print the completion script for a shell on stdout (or into --out FILE). The scripts are also
committed under completions/ in the source tree. Install, for example:
    gwmon completions bash > ~/.local/share/bash-completion/completions/gwmon
    gwmon completions zsh > ~/.zfunc/_gwmon        # with fpath+=(~/.zfunc) before compinit
    gwmon completions fish > ~/.config/fish/completions/gwmon.fish")]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts.
    #[command(long_about = "\
Print the manual page (roff) on stdout, or write it to --out FILE. It holds every command and
option, the log formats gwmon reads, each metric, each alert rule, files, environment and exit
status. Read it, or install it:
    gwmon man | man -l -
    gwmon man --out ~/.local/share/man/man1/gwmon.1")]
    Man(ManArgs),
    /// Write a simulated gateway-service log and its expected report (for tests and benchmarks).
    #[command(hide = true)]
    Simulate(crate::simulate::SimulateArgs),
    /// Generate the man page or shell completions (kept for scripts; see `man`, `completions`).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

const WATCH_LONG: &str = "\
Follow live logs and raise alerts as they happen.

    tail -f ganymede.log | gwmon watch
    gwmon watch /var/log/ganymede.log                 # tail -F: follows rotation and truncation
    gwmon watch --from-start --alertmanager http://127.0.0.1:9093 '/var/log/gw/*.log'
    gwmon watch --alertmanager https://am.example.net:9093 --alertmanager-ca-file ca.pem gw.log

Files are followed like tail -F: renamed away and recreated (logrotate create), truncated in place
(copytruncate), deleted and recreated, or created later; quoted globs pick up new files. By default
reading starts at the end of each file; --from-start first rebuilds the pool from the existing
content (alerts that are still firing at its end are then notified once).

Alert lines go to stdout: TIME FIRING|REPEAT|RESOLVED SEVERITY RULE SUMMARY. SIGUSR1 (or
--summary-every) prints the current pool line on stderr; SIGINT/SIGTERM end cleanly with a final
summary.

Rules (thresholds in the config file; see `gwmon config --print-default`):
  pool_exhausted       a request refused with no_gateway_available (critical, at once;
                       resolves 2h after allocations succeed again: keep_firing_for)
  pool_low             at most 10% of the pool available for 10m (warning; clears at 20%,
                       kept 2h)
  failure_rate         over 20% of attempts failed in 15m, at least 10 attempts, for 5m
                       (warning; clears at 10%, kept 15m; refusals excluded)
  long_allocation      an allocation open longer than 24h (warning, per organization)
  orphaned_allocation  a rollback failed: manual cleanup required (critical, per organization)
  pool_imbalance       time-weighted utilization over 24h above 90% or below 10% (warning)
  log_silent           no line read from an input for 15m (critical, per input; /healthz
                       answers 503 meanwhile)";

const BACKFILL_LONG: &str = "\
Write gwmon's metric families over the whole history of the logs as OpenMetrics with a timestamp
on every sample: one sample per series every --step, sampled in event time (the series gwmon watch
--listen would have exposed had it been running, alert states included; counters cumulative from
the first event), each series grouped in time order, # EOF at the end. Families about the gwmon
process itself (build, lines read, process_*) are left out. Streamed: memory stays bounded
whatever the history's length (points are spilled to an unlinked file in $TMPDIR).

    gwmon backfill --pool-size 8 /var/log/ganymede.log* > gwmon.om
    promtool tsdb create-blocks-from openmetrics gwmon.om /var/lib/prometheus/metrics2

Samples are at multiples of --step (UTC), from the first event's down to just past the last
one's, or until --until: backfill up to the moment a live gwmon watch started scraping, and the
two meet without a gap or a duplicate (see the README's \"Adopting gwmon on a running system\").";

const CHECK_LONG: &str = "\
A monitoring-plugin check for cron: reads only what is new since the last run, carries the pool
and the alert states across runs in --state FILE, evaluates the alert rules and prints

    GWMON CRITICAL - pool exhausted: 0/8 available | available=0;1;0;0;8 allocated=8;;;0;8 …

then one line per firing alert. Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (an error,
such as an unreadable file or state file, a usage error, or a log that never gave a lifecycle
line). A log whose last line is older than alerts.log_silent.for is CRITICAL log_silent, told
first, and the other rules are judged at the log's own clock.

Each file is remembered by offset and identity (device, inode and a fingerprint of its first
bytes): after a rotation the rest of the old file is read first (found next to it by inode, or by
content once compressed), then the new file; a file truncated in place is read from its start. The
state file is locked during a run and replaced atomically. The first run reads everything.

    */5 * * * * gwmon check --state /var/lib/gwmon/check.json /var/log/ganymede.log";

/// Where the lines come from and how they are read.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Log files (plain or gzip); `-` or none for stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Shape of the lines.
    #[arg(long, short = 'f', value_enum, default_value = "auto")]
    pub format: Format,

    /// Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d).
    ///
    /// Events before it still rebuild the pool state (who holds which gateway), but are not
    /// counted. Example: --since 2026-03-04T00:00:00Z
    #[arg(long, value_name = "TIME", value_parser = parse_time_flag)]
    pub since: Option<Millis>,

    /// Ignore events at or after this time (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time_flag)]
    pub until: Option<Millis>,

    /// Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped.
    ///
    /// OTLP export requests hold many records on one line: raise this if a collector batches
    /// more than 1 MiB per request.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    pub max_line_length: usize,

    /// Scan threads (0: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, hide = true)]
    pub threads: usize,

    /// Show skipped lines and other details on stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// What the pool model needs to know.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Pool")]
pub struct PoolArgs {
    /// Number of gateways in the pool (default: pool.size in the config file, else the latest
    /// pool snapshot in the logs).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub pool_size: Option<u64>,

    /// Organizations tracked one by one; the rest are folded into `other` (default 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_orgs: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Print the report as JSON (schema gwmon.report/v1).
    #[arg(long, help_heading = "Output", conflicts_with = "prometheus")]
    pub json: bool,

    /// Write the report as one self-contained HTML page with charts (inline CSS and SVG, nothing
    /// fetched, no script) to FILE, replaced atomically, or on stdout with --html -.
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Output",
        conflicts_with_all = ["json", "prometheus"]
    )]
    pub html: Option<PathBuf>,

    /// Print the Prometheus exposition (text format 0.0.4) of the end state once.
    #[arg(long, help_heading = "Output")]
    pub prometheus: bool,

    /// Add per-organization series to the Prometheus exposition (bounded by --max-orgs).
    #[arg(long, help_heading = "Output")]
    pub org_metrics: bool,

    /// When to colour the text report.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Output")]
    pub color: ColorChoice,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
    /// Keep following the files (tail -F) and stream events as they are written.
    #[arg(long = "follow", short = 'F')]
    pub follow_mode: bool,

    /// With --follow: keep where each file was read to (and the pool) in FILE, saved with the
    /// events it covers before they are written, and resume from it: a restarted stream repeats
    /// no event and misses none written while it was down (exactly once when stdout is a file,
    /// as with `>> events.jsonl`).
    #[arg(long, value_name = "FILE", requires = "follow_mode")]
    pub state: Option<PathBuf>,
    /// Leave out the derived pool_status events (the pool's figures after every change).
    #[arg(long)]
    pub no_pool_status: bool,
}

/// The configuration file and overrides.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Configuration")]
pub struct ConfigArgs {
    /// Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable).
    #[arg(long = "set", short = 's', value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ConfigCmd {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Print the commented default configuration.
    #[arg(long)]
    pub print_default: bool,
}

/// How files are followed.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Follow")]
pub struct FollowArgs {
    /// Read the existing content first, rebuilding the pool state (default: start at the end).
    #[arg(long)]
    pub from_start: bool,

    #[command(flatten)]
    pub poll: PollArgs,
}

/// Where alerts go.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Alert sinks")]
pub struct SinkArgs {
    /// Also write each alert transition as a JSON line to FILE (`-`: stdout instead of the
    /// human lines).
    #[arg(long, value_name = "FILE")]
    pub alerts_json: Option<PathBuf>,

    /// Run CMD for each alert transition, with the alert in GWMON_ALERT_* environment variables
    /// and as JSON on stdin. CMD is split on white space and run without a shell.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// Longest run of one --exec command before it is killed.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = Dur::parse_positive)]
    pub exec_timeout: Dur,

    /// Most --exec commands running at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub exec_max: usize,

    /// Send alerts to Alertmanager (v2 API), e.g. http://127.0.0.1:9093 or https://am1:9093
    /// (TLS, verified against the system's trusted roots or --alertmanager-ca-file). Repeat it
    /// (or give a comma list) for an HA cluster: every alert goes to every Alertmanager, each
    /// with its own retries and backoff, so one that is down delays nothing.
    #[arg(long, value_name = "URL", value_delimiter = ',')]
    pub alertmanager: Vec<String>,

    /// Send this header with every request to Alertmanager (repeatable), e.g.
    /// 'Authorization: Bearer TOKEN' for an Alertmanager behind a proxy.
    #[arg(long, value_name = "NAME: VALUE", requires = "alertmanager")]
    pub alertmanager_header: Vec<String>,

    /// Basic authentication for Alertmanager from FILE: one line USER:PASSWORD (kept off the
    /// command line and the process list).
    #[arg(long, value_name = "FILE", requires = "alertmanager")]
    pub alertmanager_basic_auth_file: Option<PathBuf>,

    /// Verify https Alertmanagers against the CA certificates in FILE (PEM, one or more), e.g.
    /// a private CA's, instead of the system's trusted roots. Read and checked at startup.
    #[arg(long, value_name = "FILE", requires = "alertmanager")]
    pub alertmanager_ca_file: Option<PathBuf>,

    /// How often firing alerts are re-sent to Alertmanager.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = Dur::parse_positive)]
    pub alertmanager_interval: Dur,

    /// Do not print the human alert lines.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// When to colour alert lines.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub follow: FollowArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub sinks: SinkArgs,

    /// Print the pool line on stderr at this interval (also on SIGUSR1).
    #[arg(long, value_name = "DURATION", help_heading = "Output", value_parser = Dur::parse_positive)]
    pub summary_every: Option<Dur>,

    /// Keep the run's state in FILE (the pool, the alert states with what was notified, where
    /// each file was read to), written atomically every second (before any alert is told) and at exit, and resume from it: a
    /// restarted watch reads what was written while it was down, continues its counters and
    /// notifies nothing again.
    #[arg(long, value_name = "FILE", help_heading = "Follow")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub export: ExportArgs,
}

/// Metrics for Prometheus.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Prometheus")]
pub struct ExportArgs {
    /// Serve /metrics (and /healthz) on ADDR, e.g. 127.0.0.1:9464 (loopback unless you say
    /// otherwise).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Write the metrics to this node_exporter textfile (atomically), e.g.
    /// /var/lib/prometheus/node-exporter/gwmon.prom.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,

    /// How often the textfile is rewritten when something changed.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = Dur::parse_positive)]
    pub textfile_interval: Dur,

    /// Add per-organization series (bounded by --max-orgs).
    #[arg(long)]
    pub org_metrics: bool,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub config: ConfigArgs,

    /// State file carried across runs (offsets, pool and alert states).
    #[arg(long, value_name = "FILE", help_heading = "Check")]
    pub state: PathBuf,

    /// Seconds to wait for another run holding the state file.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        help_heading = "Check"
    )]
    pub lock_timeout: u64,

    /// After each run, write the metrics (the families of `watch --textfile`) to this
    /// node_exporter textfile, atomically, e.g. /var/lib/prometheus/node-exporter/gwmon.prom:
    /// cron + node_exporter with no long-running gwmon.
    #[arg(long, value_name = "PATH", help_heading = "Check")]
    pub textfile: Option<PathBuf>,

    /// Add per-organization series to the textfile (bounded by --max-orgs).
    #[arg(long, requires = "textfile", help_heading = "Check")]
    pub org_metrics: bool,
}

#[derive(Args, Debug)]
pub struct BackfillArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub config: ConfigArgs,

    /// One sample per series every STEP (at multiples of it), e.g. 15s, 1m, 5m.
    #[arg(long, value_name = "STEP", default_value = "1m", value_parser = Dur::parse_positive, help_heading = "Output")]
    pub step: Dur,

    /// Add per-organization series (bounded by --max-orgs; one sample per organization per step).
    #[arg(long, help_heading = "Output")]
    pub org_metrics: bool,

    /// Add this label to every series (repeatable), e.g. --label job=gwmon --label
    /// instance=127.0.0.1:9464: the target labels Prometheus gives the live gwmon's series, so
    /// the backfilled history and the live series are the same series.
    #[arg(long = "label", value_name = "NAME=VALUE", help_heading = "Output")]
    pub labels: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TopArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub follow: PollArgs,

    /// Keep the dashboard's state in FILE (the pool, the alert states, the charts and latest
    /// transitions, where each file was read to), saved every second and at exit, and resume
    /// from it instead of reading the files from their start: a restarted top shows the same
    /// figures and charts and reads only what was written while it was down. The same FILE is
    /// not shared with watch or events (each keeps its own).
    #[arg(long, value_name = "FILE", help_heading = "Follow")]
    pub state: Option<PathBuf>,
}

/// Polling, for `top` (which always reads the files' content first).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Follow")]
pub struct PollArgs {
    /// Poll files at this interval instead of using native file events.
    #[arg(
        long,
        value_name = "INTERVAL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1s",
        value_parser = Dur::parse_positive
    )]
    pub poll: Option<Dur>,
}

#[derive(Args, Debug)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Print each transition as a JSON line.
    #[arg(long, help_heading = "Output")]
    pub json: bool,

    /// Also list repeat notifications of long-firing alerts.
    #[arg(long, help_heading = "Output")]
    pub repeats: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
    /// Write the script to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write the page to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(value_enum)]
    pub what: Generate,
    /// Output file; default stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn typed_values_are_parsed_by_clap() {
        let c = Cli::try_parse_from(["gwmon", "watch", "--summary-every", "90s", "--poll=250ms"])
            .unwrap();
        let Command::Watch(w) = c.command else {
            panic!("watch")
        };
        assert_eq!(w.summary_every, Some(Dur(90_000)));
        assert_eq!(w.follow.poll.poll, Some(Dur(250)));
        for bad in [
            vec!["gwmon", "watch", "--exec-timeout", "soon"],
            vec!["gwmon", "watch", "--poll=0s"],
            vec!["gwmon", "report", "--since", "yesterday-ish"],
            vec!["gwmon", "report", "--max-line-length", "0"],
            vec!["gwmon", "report", "--max-orgs", "0"],
        ] {
            let e = Cli::try_parse_from(&bad).unwrap_err().to_string();
            assert!(e.contains("invalid value"), "{bad:?}: {e}");
        }
    }
}
