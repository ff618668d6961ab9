//! The command line, as typed (clap derive types only). [`crate::app`] turns it into decisions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::decode::Format;
use crate::term::ColorChoice;

const ABOUT: &str = "Watch a gateway pool through the logs its service already writes.";

const LONG_ABOUT: &str = "\
Watch a gateway pool through the logs its service already writes.

gwmon reads the Holistix Forge gateway service's logs (files, rotated and gzip-compressed files, or
stdin; console lines, Docker json-file, OpenTelemetry OTLP/JSON or Loki logcli JSON lines),
recognizes the gateway lifecycle lines as typed events, rebuilds the pool over event time and
reports its metrics.";

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
reason, the hourly allocation rate, the longest allocations and the busiest organizations.

Files are merged by event time, so rotated siblings can be named in any order:
    gwmon report /var/log/ganymede.log*
    docker logs ganymede 2>&1 | gwmon report
    logcli query --forward --output=jsonl '{app=\"ganymede\"}' | gwmon report --json")]
    Report(ReportArgs),
    /// Print the recognized lifecycle events as JSON lines.
    #[command(long_about = "\
Print the recognized lifecycle events as JSON lines, one object per event, in event time order:
    {\"event\":\"allocated\",\"time\":\"2026-03-04T09:15:02.140Z\",\"org\":\"…\",\"gateway\":\"gw-pool-3\",\"port\":7103,\"source\":\"ganymede.log:12\"}
Deallocations and rollbacks carry the seconds the allocation was held (duration_s), alloc_ready
the milliseconds from allocation to ready (startup_ms).")]
    Events(EventsArgs),
    /// Write a simulated gateway-service log and its expected report (for tests and benchmarks).
    #[command(hide = true)]
    Simulate(crate::simulate::SimulateArgs),
    /// Generate the man page or shell completions.
    #[command(hide = true)]
    Generate(GenerateArgs),
}

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
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Ignore events at or after this time (same forms as --since).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

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
    /// Number of gateways in the pool (default: the latest pool snapshot in the logs).
    #[arg(long, value_name = "N")]
    pub pool_size: Option<u64>,

    /// Organizations tracked one by one; the rest are folded into `other`.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_orgs: usize,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub pool: PoolArgs,

    /// Print the report as JSON (schema gwmon.report/v1).
    #[arg(long, help_heading = "Output")]
    pub json: bool,

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
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    #[arg(value_enum)]
    pub what: Generate,
    /// Output directory (man) or file (completions); default stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
}

/// `1M`, `512K`, `1048576` → bytes.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1usize << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    let n: usize = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (examples: 65536, 512K, 1M)"))?;
    n.checked_mul(mult)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("`{s}` is out of range"))
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
    fn sizes() {
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
    }
}
