//! The one resolution step: what was typed ([`crate::cli`]) and the configuration file
//! ([`crate::config`]) become the decisions the commands use — what to read and within which
//! window, how the pool is sized, the alert rules, how files are followed, where alerts and
//! metrics go. Flags win over the configuration file. Commands see only these types.

use std::io::{self, IsTerminal};
use std::path::PathBuf;

use anyhow::bail;

use crate::alert::Alerts;
use crate::alert::sinks::SinkOptions;
use crate::cli::{
    AlertsArgs, BackfillArgs, CheckArgs, Command, CompletionsArgs, ConfigArgs, ConfigCmd,
    EventsArgs, ExportArgs, FollowArgs, Generate, GenerateArgs, InputArgs, ManArgs, PoolArgs,
    ReportArgs, SinkArgs, TopArgs, WatchArgs,
};
use crate::config::{self, Config};
use crate::pipeline::ReadOptions;
use crate::pipeline::live::LiveOptions;
use crate::pipeline::publish::PublishOptions;
use crate::pipeline::replay::{Batch, Window};
use crate::pool::PoolConfig;
use crate::simulate::SimulateArgs;
use crate::source::Input;
use crate::source::follow::FollowOptions;
use crate::source::identity::FileId;
use crate::term::use_color;

/// A command with its decisions.
pub enum Mode {
    Report(Report),
    Events(Events),
    Watch(Box<Watch>),
    Alerts(AlertsReplay),
    Check(Check),
    Backfill(Backfill),
    Top(Top),
    Config(ConfigShow),
    Simulate(SimulateArgs),
    Generate(Generated),
}

/// What `gwmon man`, `gwmon completions` (and the hidden `gwmon generate`) write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Artifact {
    Man,
    Completions(clap_complete::Shell),
}

/// An artifact and where it goes (stdout when `out` is None).
#[derive(Clone, Debug)]
pub struct Generated {
    pub what: Artifact,
    pub out: Option<PathBuf>,
}

/// What every command that models the pool decides: what to read, the pool, the rules.
#[derive(Clone, Debug)]
pub struct Common {
    pub batch: Batch,
    pub pool: PoolConfig,
    pub alerts: Alerts,
}

/// How the text report (and other text) is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Text { color: bool },
    Json,
    Prometheus { per_org: bool },
    Html(HtmlOut),
}

/// Where the HTML report goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HtmlOut {
    Stdout,
    /// Replaced atomically; its directory exists (checked before anything is read).
    File(PathBuf),
}

/// `--html FILE`: `-` is stdout; a file's directory must exist, so a long read does not end
/// in a report that cannot be written.
fn html_out(path: PathBuf) -> anyhow::Result<HtmlOut> {
    if path.as_os_str() == "-" {
        return Ok(HtmlOut::Stdout);
    }
    existing_dir(&path, "--html")?;
    Ok(HtmlOut::File(path))
}

/// A file to be replaced atomically after a long read: its directory must exist and it must
/// not be a directory (said before anything is read).
fn existing_dir(path: &std::path::Path, flag: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !dir.is_dir() {
        bail!(
            "{flag} {}: no such directory: {}",
            path.display(),
            dir.display()
        );
    }
    if path.is_dir() {
        bail!("{flag} {}: is a directory", path.display());
    }
    Ok(())
}

pub struct Report {
    pub common: Common,
    pub format: ReportFormat,
}

pub struct Events {
    pub common: Common,
    /// Keep following the files (`--follow`).
    pub follow: Option<LiveOptions>,
    /// Emit the derived `pool_status` events (not `--no-pool-status`).
    pub pool_status: bool,
}

pub struct Watch {
    pub common: Common,
    pub live: LiveOptions,
    pub sinks: SinkOptions,
    pub publish: PublishOptions,
}

pub struct AlertsReplay {
    pub common: Common,
    pub json: bool,
    pub repeats: bool,
}

pub struct Check {
    pub common: Common,
    pub state: PathBuf,
    pub lock_timeout: std::time::Duration,
    /// node_exporter textfile written after the run; its directory exists.
    pub textfile: Option<PathBuf>,
    pub per_org: bool,
}

pub struct Backfill {
    pub common: Common,
    /// Milliseconds between samples.
    pub step: i64,
    pub per_org: bool,
    /// Labels added to every series.
    pub labels: Vec<(String, String)>,
}

pub struct Top {
    pub common: Common,
    pub follow: FollowOptions,
    /// Resume from, and keep the run in, this file (`--state`).
    pub state: Option<PathBuf>,
}

pub struct ConfigShow {
    pub print_default: bool,
    pub config: Config,
    /// Where the configuration came from, in words.
    pub from: String,
}

/// Resolve a command line.
pub fn resolve(command: Command) -> anyhow::Result<Mode> {
    Ok(match command {
        Command::Report(a) => Mode::Report(report(a)?),
        Command::Events(a) => Mode::Events(events(a)?),
        Command::Watch(a) => Mode::Watch(Box::new(watch(*a)?)),
        Command::Alerts(a) => Mode::Alerts(alerts(a)?),
        Command::Check(a) => Mode::Check(check(a)?),
        Command::Backfill(a) => Mode::Backfill(backfill(a)?),
        Command::Top(a) => Mode::Top(top(a)?),
        Command::Config(a) => Mode::Config(config_show(a)?),
        Command::Simulate(a) => Mode::Simulate(a),
        Command::Completions(CompletionsArgs { shell, out }) => Mode::Generate(Generated {
            what: Artifact::Completions(shell),
            out,
        }),
        Command::Man(ManArgs { out }) => Mode::Generate(Generated {
            what: Artifact::Man,
            out,
        }),
        Command::Generate(GenerateArgs { what, out }) => {
            use clap_complete::Shell;
            let what = match what {
                Generate::Man => Artifact::Man,
                Generate::Bash => Artifact::Completions(Shell::Bash),
                Generate::Zsh => Artifact::Completions(Shell::Zsh),
                Generate::Fish => Artifact::Completions(Shell::Fish),
                Generate::Elvish => Artifact::Completions(Shell::Elvish),
                Generate::Powershell => Artifact::Completions(Shell::PowerShell),
            };
            Mode::Generate(Generated { what, out })
        }
    })
}

/// The inputs named: stdin when none (or `-`).
pub fn inputs(files: &[String]) -> Vec<Input> {
    if files.is_empty() {
        vec![Input::Stdin]
    } else {
        files.iter().map(|f| Input::from_arg(f)).collect()
    }
}

/// Keep each file once: a name of a file already named (the same device and inode, a hard
/// link, `x.log ./x.log`) is left out, and told.
fn dedupe(inputs: Vec<Input>) -> (Vec<Input>, Vec<(String, String)>) {
    let mut seen: Vec<(FileId, String)> = Vec::new();
    let mut kept = Vec::new();
    let mut left_out = Vec::new();
    for input in inputs {
        if let Input::File(p) = &input
            && let Ok(m) = std::fs::metadata(p)
            && m.is_file()
        {
            let id = FileId::of(&m);
            if let Some((_, first)) = seen.iter().find(|(i, _)| *i == id) {
                left_out.push((input.name(), first.clone()));
                continue;
            }
            seen.push((id, input.name()));
        }
        kept.push(input);
    }
    (kept, left_out)
}

fn batch(a: &InputArgs) -> anyhow::Result<Batch> {
    if let (Some(s), Some(u)) = (a.since, a.until)
        && u <= s
    {
        bail!("--until must be later than --since");
    }
    let (inputs, duplicates) = dedupe(inputs(&a.files));
    Ok(Batch {
        inputs,
        duplicates,
        window: Window {
            since: a.since,
            until: a.until,
        },
        read: ReadOptions {
            format: a.format,
            max_line: a.max_line_length,
            verbose: a.verbose,
            threads: a.threads,
        },
    })
}

/// Flags win over the config file.
fn pool_config(a: &PoolArgs, cfg: &Config) -> PoolConfig {
    PoolConfig {
        pool_size: a.pool_size.or(cfg.pool.size),
        max_orgs: a.max_orgs.map_or(cfg.pool.max_orgs, |n| n as usize),
        gap_ms: cfg.pool.gap_after.ms(),
    }
}

fn load_config(a: &ConfigArgs) -> anyhow::Result<Config> {
    config::load(a.config.as_deref(), &a.set)
}

fn common(input: &InputArgs, pool: &PoolArgs, cfg: &Config) -> anyhow::Result<Common> {
    Ok(Common {
        batch: batch(input)?,
        pool: pool_config(pool, cfg),
        alerts: cfg.alerts.clone(),
    })
}

fn follow_options(input: &InputArgs, f: &FollowArgs) -> FollowOptions {
    FollowOptions {
        poll: f.poll.poll.map(|d| d.std()),
        from_start: f.from_start,
        max_line: input.max_line_length,
    }
}

fn stdout_color(choice: crate::term::ColorChoice) -> bool {
    use_color(choice, io::stdout().is_terminal())
}

fn report(a: ReportArgs) -> anyhow::Result<Report> {
    let cfg = load_config(&a.config)?;
    let format = if let Some(path) = a.html {
        ReportFormat::Html(html_out(path)?)
    } else if a.json {
        ReportFormat::Json
    } else if a.prometheus {
        ReportFormat::Prometheus {
            per_org: a.org_metrics,
        }
    } else {
        ReportFormat::Text {
            color: stdout_color(a.color),
        }
    };
    Ok(Report {
        common: common(&a.input, &a.pool, &cfg)?,
        format,
    })
}

fn events(a: EventsArgs) -> anyhow::Result<Events> {
    // The events stream depends on no configuration: the built-in defaults.
    let cfg = Config::default();
    state_inputs(a.state.as_deref(), &a.input)?;
    let follow = a.follow_mode.then(|| LiveOptions {
        state: a.state.clone().map(|p| (p, "events")),
        follow: follow_options(&a.input, &a.follow),
        summary_every: None,
    });
    Ok(Events {
        common: common(&a.input, &a.pool, &cfg)?,
        follow,
        pool_status: !a.no_pool_status,
    })
}

fn sinks(a: &SinkArgs) -> anyhow::Result<SinkOptions> {
    let mut seen = std::collections::BTreeSet::new();
    for url in &a.alertmanager {
        if url.trim().is_empty() {
            bail!("--alertmanager: an empty URL (a stray comma?)");
        }
        if !seen.insert(url.trim_end_matches('/')) {
            bail!("--alertmanager {url}: named twice");
        }
    }
    let mut headers = Vec::new();
    for h in &a.alertmanager_header {
        headers.push(alertmanager_header(h)?);
    }
    if let Some(path) = &a.alertmanager_basic_auth_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("--alertmanager-basic-auth-file {}: {e}", path.display())
        })?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if !line.contains(':') || line.chars().any(char::is_control) {
            bail!(
                "--alertmanager-basic-auth-file {}: expected one line USER:PASSWORD",
                path.display()
            );
        }
        if headers
            .iter()
            .any(|(k, _): &(String, String)| k.eq_ignore_ascii_case("authorization"))
        {
            bail!(
                "--alertmanager-basic-auth-file and an Authorization --alertmanager-header: one or the other"
            );
        }
        headers.push((
            "Authorization".to_owned(),
            format!("Basic {}", crate::units::base64(line.as_bytes())),
        ));
    }
    let ca = match &a.alertmanager_ca_file {
        Some(path) => {
            if !a.alertmanager.iter().any(|u| u.starts_with("https://")) {
                bail!(
                    "--alertmanager-ca-file {}: no --alertmanager URL is https://",
                    path.display()
                );
            }
            Some(crate::alert::alertmanager::CaFile::load(path)?)
        }
        None => None,
    };
    Ok(SinkOptions {
        human: !a.quiet,
        color: stdout_color(a.color),
        json: a.alerts_json.clone(),
        exec: a.exec.clone(),
        exec_timeout: a.exec_timeout.std(),
        exec_max: a.exec_max,
        alertmanagers: a.alertmanager.clone(),
        alertmanager_headers: headers,
        alertmanager_interval: a.alertmanager_interval.std(),
        alertmanager_ca: ca,
    })
}

/// `NAME: VALUE`: an HTTP header name (a token) and a value without control characters.
fn alertmanager_header(h: &str) -> anyhow::Result<(String, String)> {
    let Some((name, value)) = h.split_once(':') else {
        bail!("--alertmanager-header {h:?}: expected 'NAME: VALUE'");
    };
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        bail!("--alertmanager-header {h:?}: {name:?} is not a header name");
    }
    let value = value.trim();
    if value.chars().any(|c| c.is_control() && c != '\t') {
        bail!("--alertmanager-header {name}: its value holds a control character");
    }
    if ["content-type", "content-length", "host"].contains(&name.to_ascii_lowercase().as_str()) {
        bail!("--alertmanager-header {name}: gwmon sets that header itself");
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn publish(a: &ExportArgs) -> PublishOptions {
    PublishOptions {
        listen: a.listen.clone(),
        textfile: a.textfile.clone(),
        textfile_every: a.textfile_interval.std(),
        per_org: a.org_metrics,
    }
}

/// `--state` resumes named files: not stdin, not globs; its directory exists.
fn state_inputs(state: Option<&std::path::Path>, input: &InputArgs) -> anyhow::Result<()> {
    let Some(p) = state else {
        return Ok(());
    };
    if input.files.is_empty() || input.files.iter().any(|f| f == "-") {
        bail!("--state follows files (it remembers where it stopped); name them, not stdin");
    }
    existing_dir(p, "--state")?;
    if let Some(g) = input.files.iter().find(|f| f.contains(['*', '?', '['])) {
        bail!(
            "--state resumes the files named, not globs ({g}): name each file (an unquoted glob lets the shell name them; a file matching later is not followed)"
        );
    }
    Ok(())
}

fn watch(a: WatchArgs) -> anyhow::Result<Watch> {
    let cfg = load_config(&a.config)?;
    state_inputs(a.state.as_deref(), &a.input)?;
    Ok(Watch {
        common: common(&a.input, &a.pool, &cfg)?,
        live: LiveOptions {
            follow: follow_options(&a.input, &a.follow),
            summary_every: a.summary_every.map(|d| d.std()),
            state: a.state.clone().map(|p| (p, "watch")),
        },
        sinks: sinks(&a.sinks)?,
        publish: publish(&a.export),
    })
}

fn alerts(a: AlertsArgs) -> anyhow::Result<AlertsReplay> {
    let cfg = load_config(&a.config)?;
    Ok(AlertsReplay {
        common: common(&a.input, &a.pool, &cfg)?,
        json: a.json,
        repeats: a.repeats,
    })
}

fn check(a: CheckArgs) -> anyhow::Result<Check> {
    if a.input.files.is_empty() || a.input.files.iter().any(|f| f == "-") {
        bail!("gwmon check reads files (it remembers where it stopped); name them");
    }
    let cfg = load_config(&a.config)?;
    if let Some(t) = &a.textfile {
        existing_dir(t, "--textfile")?;
    }
    Ok(Check {
        common: common(&a.input, &a.pool, &cfg)?,
        state: a.state,
        lock_timeout: std::time::Duration::from_secs(a.lock_timeout),
        textfile: a.textfile,
        per_org: a.org_metrics,
    })
}

/// The label names of gwmon's own series (an added label may not take one).
const BACKFILL_OWN_LABELS: [&str; 8] = [
    "le", "reason", "rule", "gateway", "outcome", "org", "input", "file",
];

fn backfill(a: BackfillArgs) -> anyhow::Result<Backfill> {
    let cfg = load_config(&a.config)?;
    let step = a.step.ms();
    if step < 1000 || step % 1000 != 0 {
        bail!("--step {}: a whole number of seconds, at least 1s", a.step);
    }
    let mut labels: Vec<(String, String)> = Vec::new();
    for l in &a.labels {
        let Some((k, v)) = l.split_once('=') else {
            bail!("--label {l:?}: NAME=VALUE expected");
        };
        let valid = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with("__");
        if !valid {
            bail!(
                "--label {l:?}: {k:?} is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no __ prefix)"
            );
        }
        if BACKFILL_OWN_LABELS.contains(&k) {
            bail!("--label {l:?}: gwmon's own series use the label {k:?}");
        }
        if labels.iter().any(|(x, _)| x == k) {
            bail!("--label {l:?}: {k:?} given twice");
        }
        labels.push((k.to_owned(), v.to_owned()));
    }
    Ok(Backfill {
        common: common(&a.input, &a.pool, &cfg)?,
        step,
        per_org: a.org_metrics,
        labels,
    })
}

fn top(a: TopArgs) -> anyhow::Result<Top> {
    let cfg = load_config(&a.config)?;
    // The dashboard shows the pool as it is: it rebuilds it from the files' content first.
    let follow = FollowArgs {
        from_start: true,
        poll: a.follow.clone(),
    };
    state_inputs(a.state.as_deref(), &a.input)?;
    Ok(Top {
        follow: follow_options(&a.input, &follow),
        common: common(&a.input, &a.pool, &cfg)?,
        state: a.state,
    })
}

fn config_show(a: ConfigCmd) -> anyhow::Result<ConfigShow> {
    if a.print_default {
        return Ok(ConfigShow {
            print_default: true,
            config: Config::default(),
            from: "built-in defaults".into(),
        });
    }
    let config = load_config(&a.config)?;
    let from = config::config_path(a.config.config.as_deref())
        .map_or("built-in defaults".to_owned(), |p| p.display().to_string());
    Ok(ConfigShow {
        print_default: false,
        config,
        from,
    })
}
