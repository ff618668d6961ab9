
use builtin;
use str;

set edit:completion:arg-completer[gwmon] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'gwmon'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'gwmon'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand report 'One-off report over historical logs: pool, allocations, durations, failures, organizations'
            cand watch 'Follow live logs (tail -F) or stdin and raise alerts as they happen'
            cand alerts 'Replay history through the alert rules: when each alert would have fired and resolved'
            cand check 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
            cand top 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower''s notes (? shows the keys)'
            cand config 'Print the default configuration, or check a configuration file'
            cand backfill 'The metrics over the logs'' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`'
            cand events 'Print the recognized lifecycle events as JSON lines'
            cand completions 'Print the shell completion script for bash, zsh, fish, elvish or powershell'
            cand man 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts'
            cand simulate 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)'
            cand generate 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gwmon;report'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --html 'Write the report as one self-contained HTML page with charts (inline CSS and SVG, nothing fetched, no script) to FILE, replaced atomically, or on stdout with --html -'
            cand --color 'When to colour the text report'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --json 'Print the report as JSON (schema gwmon.report/v1)'
            cand --prometheus 'Print the Prometheus exposition (text format 0.0.4) of the end state once'
            cand --org-metrics 'Add per-organization series to the Prometheus exposition (bounded by --max-orgs)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;watch'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --poll 'Poll files at this interval instead of using native file events'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --alerts-json 'Also write each alert transition as a JSON line to FILE (`-`: stdout instead of the human lines)'
            cand --exec 'Run CMD for each alert transition, with the alert in GWMON_ALERT_* environment variables and as JSON on stdin. CMD is split on white space and run without a shell'
            cand --exec-timeout 'Longest run of one --exec command before it is killed'
            cand --exec-max 'Most --exec commands running at once'
            cand --alertmanager 'Send alerts to Alertmanager (v2 API), e.g. http://127.0.0.1:9093 or https://am1:9093 (TLS, verified against the system''s trusted roots or --alertmanager-ca-file). Repeat it (or give a comma list) for an HA cluster: every alert goes to every Alertmanager, each with its own retries and backoff, so one that is down delays nothing'
            cand --alertmanager-header 'Send this header with every request to Alertmanager (repeatable), e.g. ''Authorization: Bearer TOKEN'' for an Alertmanager behind a proxy'
            cand --alertmanager-basic-auth-file 'Basic authentication for Alertmanager from FILE: one line USER:PASSWORD (kept off the command line and the process list)'
            cand --alertmanager-ca-file 'Verify https Alertmanagers against the CA certificates in FILE (PEM, one or more), e.g. a private CA''s, instead of the system''s trusted roots. Read and checked at startup'
            cand --alertmanager-interval 'How often firing alerts are re-sent to Alertmanager'
            cand --color 'When to colour alert lines'
            cand --summary-every 'Print the pool line on stderr at this interval (also on SIGUSR1)'
            cand --state 'Keep the run''s state in FILE (the pool, the alert states with what was notified, where each file was read to), written atomically every second (before any alert is told) and at exit, and resume from it: a restarted watch reads what was written while it was down, continues its counters and notifies nothing again'
            cand --listen 'Serve /metrics (and /healthz) on ADDR, e.g. 127.0.0.1:9464 (loopback unless you say otherwise)'
            cand --textfile 'Write the metrics to this node_exporter textfile (atomically), e.g. /var/lib/prometheus/node-exporter/gwmon.prom'
            cand --textfile-interval 'How often the textfile is rewritten when something changed'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --from-start 'Read the existing content first, rebuilding the pool state (default: start at the end)'
            cand -q 'Do not print the human alert lines'
            cand --quiet 'Do not print the human alert lines'
            cand --org-metrics 'Add per-organization series (bounded by --max-orgs)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;alerts'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --json 'Print each transition as a JSON line'
            cand --repeats 'Also list repeat notifications of long-firing alerts'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;check'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --state 'State file carried across runs (offsets, pool and alert states)'
            cand --lock-timeout 'Seconds to wait for another run holding the state file'
            cand --textfile 'After each run, write the metrics (the families of `watch --textfile`) to this node_exporter textfile, atomically, e.g. /var/lib/prometheus/node-exporter/gwmon.prom: cron + node_exporter with no long-running gwmon'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --org-metrics 'Add per-organization series to the textfile (bounded by --max-orgs)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;top'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --poll 'Poll files at this interval instead of using native file events'
            cand --state 'Keep the dashboard''s state in FILE (the pool, the alert states, the charts and latest transitions, where each file was read to), saved every second and at exit, and resume from it instead of reading the files from their start: a restarted top shows the same figures and charts and reads only what was written while it was down. The same FILE is not shared with watch or events (each keeps its own)'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;config'= {
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --print-default 'Print the commented default configuration'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;backfill'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --config 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml'
            cand -s 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --set 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)'
            cand --step 'One sample per series every STEP (at multiples of it), e.g. 15s, 1m, 5m'
            cand --label 'Add this label to every series (repeatable), e.g. --label job=gwmon --label instance=127.0.0.1:9464: the target labels Prometheus gives the live gwmon''s series, so the backfilled history and the live series are the same series'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --org-metrics 'Add per-organization series (bounded by --max-orgs; one sample per organization per step)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;events'= {
            cand -f 'Shape of the lines'
            cand --format 'Shape of the lines'
            cand --since 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)'
            cand --until 'Ignore events at or after this time (same forms as --since)'
            cand --max-line-length 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped'
            cand --threads 'Scan threads (0: one per core)'
            cand --pool-size 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)'
            cand --max-orgs 'Organizations tracked one by one; the rest are folded into `other` (default 10000)'
            cand --poll 'Poll files at this interval instead of using native file events'
            cand --state 'With --follow: keep where each file was read to (and the pool) in FILE, saved with the events it covers before they are written, and resume from it: a restarted stream repeats no event and misses none written while it was down (exactly once when stdout is a file, as with `>> events.jsonl`)'
            cand -v 'Show skipped lines and other details on stderr'
            cand --verbose 'Show skipped lines and other details on stderr'
            cand --from-start 'Read the existing content first, rebuilding the pool state (default: start at the end)'
            cand -F 'Keep following the files (tail -F) and stream events as they are written'
            cand --follow 'Keep following the files (tail -F) and stream events as they are written'
            cand --no-pool-status 'Leave out the derived pool_status events (the pool''s figures after every change)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;completions'= {
            cand --out 'Write the script to FILE instead of stdout'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;man'= {
            cand --out 'Write the page to FILE instead of stdout'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;simulate'= {
            cand --seed 'Seed of the simulation: the same arguments always give the same bytes'
            cand --hours 'Simulated time, from --start'
            cand --pool-size 'Number of gateways in the pool'
            cand --format 'Shape of the written lines (not auto)'
            cand --start 'Start of the simulated time (RFC 3339)'
            cand --orgs 'Number of distinct organizations'
            cand --noise 'Fraction of the lines that are unrelated to gateways (0 ≤ noise < 1)'
            cand --malformed 'Inject N malformed gateway lines (each counts once in lines.skipped)'
            cand --target-bytes 'Benchmarks: go on past --hours until the log is about this many bytes (truth still exact)'
            cand --out 'Write the log here instead of stdout'
            cand --truth 'Write the expected `gwmon report --json --pool-size N` here'
            cand --gateway-logs 'Also write each gateway container''s own log into DIR (`gw-pool-N.log`, same shape); the truth then has the figures that need them (restarts, handouts to restarting gateways)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;generate'= {
            cand --out 'Output file; default stdout'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gwmon;help'= {
            cand report 'One-off report over historical logs: pool, allocations, durations, failures, organizations'
            cand watch 'Follow live logs (tail -F) or stdin and raise alerts as they happen'
            cand alerts 'Replay history through the alert rules: when each alert would have fired and resolved'
            cand check 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
            cand top 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower''s notes (? shows the keys)'
            cand config 'Print the default configuration, or check a configuration file'
            cand backfill 'The metrics over the logs'' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`'
            cand events 'Print the recognized lifecycle events as JSON lines'
            cand completions 'Print the shell completion script for bash, zsh, fish, elvish or powershell'
            cand man 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts'
            cand simulate 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)'
            cand generate 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gwmon;help;report'= {
        }
        &'gwmon;help;watch'= {
        }
        &'gwmon;help;alerts'= {
        }
        &'gwmon;help;check'= {
        }
        &'gwmon;help;top'= {
        }
        &'gwmon;help;config'= {
        }
        &'gwmon;help;backfill'= {
        }
        &'gwmon;help;events'= {
        }
        &'gwmon;help;completions'= {
        }
        &'gwmon;help;man'= {
        }
        &'gwmon;help;simulate'= {
        }
        &'gwmon;help;generate'= {
        }
        &'gwmon;help;help'= {
        }
    ]
    $completions[$command]
}
