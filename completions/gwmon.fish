# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gwmon_global_optspecs
    string join \n h/help V/version
end

function __fish_gwmon_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gwmon_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gwmon_using_subcommand
    set -l cmd (__fish_gwmon_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gwmon -n "__fish_gwmon_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_needs_command" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "report" -d 'One-off report over historical logs: pool, allocations, durations, failures, organizations'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "watch" -d 'Follow live logs (tail -F) or stdin and raise alerts as they happen'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "alerts" -d 'Replay history through the alert rules: when each alert would have fired and resolved'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "check" -d 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "top" -d 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower\'s notes (? shows the keys)'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "config" -d 'Print the default configuration, or check a configuration file'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "backfill" -d 'The metrics over the logs\' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "events" -d 'Print the recognized lifecycle events as JSON lines'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "completions" -d 'Print the shell completion script for bash, zsh, fish, elvish or powershell'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "man" -d 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "simulate" -d 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "generate" -d 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)'
complete -c gwmon -n "__fish_gwmon_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l html -d 'Write the report as one self-contained HTML page with charts (inline CSS and SVG, nothing fetched, no script) to FILE, replaced atomically, or on stdout with --html -' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l color -d 'When to colour the text report' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l json -d 'Print the report as JSON (schema gwmon.report/v1)'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l prometheus -d 'Print the Prometheus exposition (text format 0.0.4) of the end state once'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -l org-metrics -d 'Add per-organization series to the Prometheus exposition (bounded by --max-orgs)'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand report" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l poll -d 'Poll files at this interval instead of using native file events' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alerts-json -d 'Also write each alert transition as a JSON line to FILE (`-`: stdout instead of the human lines)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l exec -d 'Run CMD for each alert transition, with the alert in GWMON_ALERT_* environment variables and as JSON on stdin. CMD is split on white space and run without a shell' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l exec-timeout -d 'Longest run of one --exec command before it is killed' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l exec-max -d 'Most --exec commands running at once' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alertmanager -d 'Send alerts to Alertmanager (v2 API), e.g. http://127.0.0.1:9093 or https://am1:9093 (TLS, verified against the system\'s trusted roots or --alertmanager-ca-file). Repeat it (or give a comma list) for an HA cluster: every alert goes to every Alertmanager, each with its own retries and backoff, so one that is down delays nothing' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alertmanager-header -d 'Send this header with every request to Alertmanager (repeatable), e.g. \'Authorization: Bearer TOKEN\' for an Alertmanager behind a proxy' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alertmanager-basic-auth-file -d 'Basic authentication for Alertmanager from FILE: one line USER:PASSWORD (kept off the command line and the process list)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alertmanager-ca-file -d 'Verify https Alertmanagers against the CA certificates in FILE (PEM, one or more), e.g. a private CA\'s, instead of the system\'s trusted roots. Read and checked at startup' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l alertmanager-interval -d 'How often firing alerts are re-sent to Alertmanager' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l color -d 'When to colour alert lines' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l summary-every -d 'Print the pool line on stderr at this interval (also on SIGUSR1)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l state -d 'Keep the run\'s state in FILE (the pool, the alert states with what was notified, where each file was read to), written atomically every second (before any alert is told) and at exit, and resume from it: a restarted watch reads what was written while it was down, continues its counters and notifies nothing again' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l listen -d 'Serve /metrics (and /healthz) on ADDR, e.g. 127.0.0.1:9464 (loopback unless you say otherwise)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l textfile -d 'Write the metrics to this node_exporter textfile (atomically), e.g. /var/lib/prometheus/node-exporter/gwmon.prom' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l textfile-interval -d 'How often the textfile is rewritten when something changed' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l from-start -d 'Read the existing content first, rebuilding the pool state (default: start at the end)'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s q -l quiet -d 'Do not print the human alert lines'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -l org-metrics -d 'Add per-organization series (bounded by --max-orgs)'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand watch" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l json -d 'Print each transition as a JSON line'
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -l repeats -d 'Also list repeat notifications of long-firing alerts'
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand alerts" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l state -d 'State file carried across runs (offsets, pool and alert states)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l lock-timeout -d 'Seconds to wait for another run holding the state file' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l textfile -d 'After each run, write the metrics (the families of `watch --textfile`) to this node_exporter textfile, atomically, e.g. /var/lib/prometheus/node-exporter/gwmon.prom: cron + node_exporter with no long-running gwmon' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -l org-metrics -d 'Add per-organization series to the textfile (bounded by --max-orgs)'
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand check" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l poll -d 'Poll files at this interval instead of using native file events' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -l state -d 'Keep the dashboard\'s state in FILE (the pool, the alert states, the charts and latest transitions, where each file was read to), saved every second and at exit, and resume from it instead of reading the files from their start: a restarted top shows the same figures and charts and reads only what was written while it was down. The same FILE is not shared with watch or events (each keeps its own)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand top" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand config" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand config" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand config" -l print-default -d 'Print the commented default configuration'
complete -c gwmon -n "__fish_gwmon_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand config" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l config -d 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -s s -l set -d 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l step -d 'One sample per series every STEP (at multiples of it), e.g. 15s, 1m, 5m' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l label -d 'Add this label to every series (repeatable), e.g. --label job=gwmon --label instance=127.0.0.1:9464: the target labels Prometheus gives the live gwmon\'s series, so the backfilled history and the live series are the same series' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -l org-metrics -d 'Add per-organization series (bounded by --max-orgs; one sample per organization per step)'
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand backfill" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -s f -l format -d 'Shape of the lines' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l since -d 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l until -d 'Ignore events at or after this time (same forms as --since)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l max-line-length -d 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l threads -d 'Scan threads (0: one per core)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l pool-size -d 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l max-orgs -d 'Organizations tracked one by one; the rest are folded into `other` (default 10000)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l poll -d 'Poll files at this interval instead of using native file events' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l state -d 'With --follow: keep where each file was read to (and the pool) in FILE, saved with the events it covers before they are written, and resume from it: a restarted stream repeats no event and misses none written while it was down (exactly once when stdout is a file, as with `>> events.jsonl`)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -s v -l verbose -d 'Show skipped lines and other details on stderr'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l from-start -d 'Read the existing content first, rebuilding the pool state (default: start at the end)'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -s F -l follow -d 'Keep following the files (tail -F) and stream events as they are written'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -l no-pool-status -d 'Leave out the derived pool_status events (the pool\'s figures after every change)'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand events" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand completions" -l out -d 'Write the script to FILE instead of stdout' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand completions" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand man" -l out -d 'Write the page to FILE instead of stdout' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand man" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l seed -d 'Seed of the simulation: the same arguments always give the same bytes' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l hours -d 'Simulated time, from --start' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l pool-size -d 'Number of gateways in the pool' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l format -d 'Shape of the written lines (not auto)' -r -f -a "auto\t'Detect the shape of each line'
console\t'`TIME [PRIORITY ] [CATEGORY            ] message[ data]`'
docker\t'Docker json-file: `{"log":"…\\n","stream":"stdout","time":"…"}`'
otlp\t'OpenTelemetry collector file exporter, OTLP/JSON, one export request per line'
logcli\t'Loki `logcli query --output=jsonl`'"
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l start -d 'Start of the simulated time (RFC 3339)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l orgs -d 'Number of distinct organizations' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l noise -d 'Fraction of the lines that are unrelated to gateways (0 ≤ noise < 1)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l malformed -d 'Inject N malformed gateway lines (each counts once in lines.skipped)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l target-bytes -d 'Benchmarks: go on past --hours until the log is about this many bytes (truth still exact)' -r
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l out -d 'Write the log here instead of stdout' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l truth -d 'Write the expected `gwmon report --json --pool-size N` here' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -l gateway-logs -d 'Also write each gateway container\'s own log into DIR (`gw-pool-N.log`, same shape); the truth then has the figures that need them (restarts, handouts to restarting gateways)' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c gwmon -n "__fish_gwmon_using_subcommand simulate" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand generate" -l out -d 'Output file; default stdout' -r -F
complete -c gwmon -n "__fish_gwmon_using_subcommand generate" -s h -l help -d 'Print help'
complete -c gwmon -n "__fish_gwmon_using_subcommand generate" -s V -l version -d 'Print version'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "report" -d 'One-off report over historical logs: pool, allocations, durations, failures, organizations'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "watch" -d 'Follow live logs (tail -F) or stdin and raise alerts as they happen'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "alerts" -d 'Replay history through the alert rules: when each alert would have fired and resolved'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "check" -d 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "top" -d 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower\'s notes (? shows the keys)'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "config" -d 'Print the default configuration, or check a configuration file'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "backfill" -d 'The metrics over the logs\' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "events" -d 'Print the recognized lifecycle events as JSON lines'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "completions" -d 'Print the shell completion script for bash, zsh, fish, elvish or powershell'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "man" -d 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "simulate" -d 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "generate" -d 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)'
complete -c gwmon -n "__fish_gwmon_using_subcommand help; and not __fish_seen_subcommand_from report watch alerts check top config backfill events completions man simulate generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
