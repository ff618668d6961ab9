
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'gwmon' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'gwmon'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'gwmon' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One-off report over historical logs: pool, allocations, durations, failures, organizations')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Follow live logs (tail -F) or stdin and raise alerts as they happen')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Replay history through the alert rules: when each alert would have fired and resolved')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower''s notes (? shows the keys)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the default configuration, or check a configuration file')
            [CompletionResult]::new('backfill', 'backfill', [CompletionResultType]::ParameterValue, 'The metrics over the logs'' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Print the recognized lifecycle events as JSON lines')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for bash, zsh, fish, elvish or powershell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gwmon;report' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--html', '--html', [CompletionResultType]::ParameterName, 'Write the report as one self-contained HTML page with charts (inline CSS and SVG, nothing fetched, no script) to FILE, replaced atomically, or on stdout with --html -')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the text report')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as JSON (schema gwmon.report/v1)')
            [CompletionResult]::new('--prometheus', '--prometheus', [CompletionResultType]::ParameterName, 'Print the Prometheus exposition (text format 0.0.4) of the end state once')
            [CompletionResult]::new('--org-metrics', '--org-metrics', [CompletionResultType]::ParameterName, 'Add per-organization series to the Prometheus exposition (bounded by --max-orgs)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;watch' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Poll files at this interval instead of using native file events')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--alerts-json', '--alerts-json', [CompletionResultType]::ParameterName, 'Also write each alert transition as a JSON line to FILE (`-`: stdout instead of the human lines)')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run CMD for each alert transition, with the alert in GWMON_ALERT_* environment variables and as JSON on stdin. CMD is split on white space and run without a shell')
            [CompletionResult]::new('--exec-timeout', '--exec-timeout', [CompletionResultType]::ParameterName, 'Longest run of one --exec command before it is killed')
            [CompletionResult]::new('--exec-max', '--exec-max', [CompletionResultType]::ParameterName, 'Most --exec commands running at once')
            [CompletionResult]::new('--alertmanager', '--alertmanager', [CompletionResultType]::ParameterName, 'Send alerts to Alertmanager (v2 API), e.g. http://127.0.0.1:9093 or https://am1:9093 (TLS, verified against the system''s trusted roots or --alertmanager-ca-file). Repeat it (or give a comma list) for an HA cluster: every alert goes to every Alertmanager, each with its own retries and backoff, so one that is down delays nothing')
            [CompletionResult]::new('--alertmanager-header', '--alertmanager-header', [CompletionResultType]::ParameterName, 'Send this header with every request to Alertmanager (repeatable), e.g. ''Authorization: Bearer TOKEN'' for an Alertmanager behind a proxy')
            [CompletionResult]::new('--alertmanager-basic-auth-file', '--alertmanager-basic-auth-file', [CompletionResultType]::ParameterName, 'Basic authentication for Alertmanager from FILE: one line USER:PASSWORD (kept off the command line and the process list)')
            [CompletionResult]::new('--alertmanager-ca-file', '--alertmanager-ca-file', [CompletionResultType]::ParameterName, 'Verify https Alertmanagers against the CA certificates in FILE (PEM, one or more), e.g. a private CA''s, instead of the system''s trusted roots. Read and checked at startup')
            [CompletionResult]::new('--alertmanager-interval', '--alertmanager-interval', [CompletionResultType]::ParameterName, 'How often firing alerts are re-sent to Alertmanager')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour alert lines')
            [CompletionResult]::new('--summary-every', '--summary-every', [CompletionResultType]::ParameterName, 'Print the pool line on stderr at this interval (also on SIGUSR1)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the run''s state in FILE (the pool, the alert states with what was notified, where each file was read to), written atomically every second (before any alert is told) and at exit, and resume from it: a restarted watch reads what was written while it was down, continues its counters and notifies nothing again')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Serve /metrics (and /healthz) on ADDR, e.g. 127.0.0.1:9464 (loopback unless you say otherwise)')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'Write the metrics to this node_exporter textfile (atomically), e.g. /var/lib/prometheus/node-exporter/gwmon.prom')
            [CompletionResult]::new('--textfile-interval', '--textfile-interval', [CompletionResultType]::ParameterName, 'How often the textfile is rewritten when something changed')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--from-start', '--from-start', [CompletionResultType]::ParameterName, 'Read the existing content first, rebuilding the pool state (default: start at the end)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Do not print the human alert lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Do not print the human alert lines')
            [CompletionResult]::new('--org-metrics', '--org-metrics', [CompletionResultType]::ParameterName, 'Add per-organization series (bounded by --max-orgs)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;alerts' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print each transition as a JSON line')
            [CompletionResult]::new('--repeats', '--repeats', [CompletionResultType]::ParameterName, 'Also list repeat notifications of long-firing alerts')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;check' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State file carried across runs (offsets, pool and alert states)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for another run holding the state file')
            [CompletionResult]::new('--textfile', '--textfile', [CompletionResultType]::ParameterName, 'After each run, write the metrics (the families of `watch --textfile`) to this node_exporter textfile, atomically, e.g. /var/lib/prometheus/node-exporter/gwmon.prom: cron + node_exporter with no long-running gwmon')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--org-metrics', '--org-metrics', [CompletionResultType]::ParameterName, 'Add per-organization series to the textfile (bounded by --max-orgs)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;top' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Poll files at this interval instead of using native file events')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the dashboard''s state in FILE (the pool, the alert states, the charts and latest transitions, where each file was read to), saved every second and at exit, and resume from it instead of reading the files from their start: a restarted top shows the same figures and charts and reads only what was written while it was down. The same FILE is not shared with watch or events (each keeps its own)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;config' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--print-default', '--print-default', [CompletionResultType]::ParameterName, 'Print the commented default configuration')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;backfill' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file (TOML). Default: $GWMON_CONFIG, then $XDG_CONFIG_HOME/gwmon/config.toml')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Override a configuration key, e.g. --set alerts.failure_rate.threshold=0.3 (repeatable)')
            [CompletionResult]::new('--step', '--step', [CompletionResultType]::ParameterName, 'One sample per series every STEP (at multiples of it), e.g. 15s, 1m, 5m')
            [CompletionResult]::new('--label', '--label', [CompletionResultType]::ParameterName, 'Add this label to every series (repeatable), e.g. --label job=gwmon --label instance=127.0.0.1:9464: the target labels Prometheus gives the live gwmon''s series, so the backfilled history and the live series are the same series')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--org-metrics', '--org-metrics', [CompletionResultType]::ParameterName, 'Add per-organization series (bounded by --max-orgs; one sample per organization per step)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;events' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the lines')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Ignore events before this time (RFC 3339, YYYY-MM-DD, or a duration back from now: 6h, 7d)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Ignore events at or after this time (same forms as --since)')
            [CompletionResult]::new('--max-line-length', '--max-line-length', [CompletionResultType]::ParameterName, 'Longest line read, in bytes (suffixes K, M, G); longer lines are counted as skipped')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Scan threads (0: one per core)')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool (default: pool.size in the config file, else the latest pool snapshot in the logs)')
            [CompletionResult]::new('--max-orgs', '--max-orgs', [CompletionResultType]::ParameterName, 'Organizations tracked one by one; the rest are folded into `other` (default 10000)')
            [CompletionResult]::new('--poll', '--poll', [CompletionResultType]::ParameterName, 'Poll files at this interval instead of using native file events')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'With --follow: keep where each file was read to (and the pool) in FILE, saved with the events it covers before they are written, and resume from it: a restarted stream repeats no event and misses none written while it was down (exactly once when stdout is a file, as with `>> events.jsonl`)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Show skipped lines and other details on stderr')
            [CompletionResult]::new('--from-start', '--from-start', [CompletionResultType]::ParameterName, 'Read the existing content first, rebuilding the pool state (default: start at the end)')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Keep following the files (tail -F) and stream events as they are written')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Keep following the files (tail -F) and stream events as they are written')
            [CompletionResult]::new('--no-pool-status', '--no-pool-status', [CompletionResultType]::ParameterName, 'Leave out the derived pool_status events (the pool''s figures after every change)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;completions' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the script to FILE instead of stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;man' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the page to FILE instead of stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;simulate' {
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulation: the same arguments always give the same bytes')
            [CompletionResult]::new('--hours', '--hours', [CompletionResultType]::ParameterName, 'Simulated time, from --start')
            [CompletionResult]::new('--pool-size', '--pool-size', [CompletionResultType]::ParameterName, 'Number of gateways in the pool')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Shape of the written lines (not auto)')
            [CompletionResult]::new('--start', '--start', [CompletionResultType]::ParameterName, 'Start of the simulated time (RFC 3339)')
            [CompletionResult]::new('--orgs', '--orgs', [CompletionResultType]::ParameterName, 'Number of distinct organizations')
            [CompletionResult]::new('--noise', '--noise', [CompletionResultType]::ParameterName, 'Fraction of the lines that are unrelated to gateways (0 ≤ noise < 1)')
            [CompletionResult]::new('--malformed', '--malformed', [CompletionResultType]::ParameterName, 'Inject N malformed gateway lines (each counts once in lines.skipped)')
            [CompletionResult]::new('--target-bytes', '--target-bytes', [CompletionResultType]::ParameterName, 'Benchmarks: go on past --hours until the log is about this many bytes (truth still exact)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write the log here instead of stdout')
            [CompletionResult]::new('--truth', '--truth', [CompletionResultType]::ParameterName, 'Write the expected `gwmon report --json --pool-size N` here')
            [CompletionResult]::new('--gateway-logs', '--gateway-logs', [CompletionResultType]::ParameterName, 'Also write each gateway container''s own log into DIR (`gw-pool-N.log`, same shape); the truth then has the figures that need them (restarts, handouts to restarting gateways)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Output file; default stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'gwmon;help' {
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One-off report over historical logs: pool, allocations, durations, failures, organizations')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Follow live logs (tail -F) or stdin and raise alerts as they happen')
            [CompletionResult]::new('alerts', 'alerts', [CompletionResultType]::ParameterValue, 'Replay history through the alert rules: when each alert would have fired and resolved')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Cron check: read what is new since the last run, evaluate the alerts, print a monitoring-plugin status (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Live terminal dashboard: pool, the pool in use over time, open allocations, failures, restarting gateways, alerts, the follower''s notes (? shows the keys)')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Print the default configuration, or check a configuration file')
            [CompletionResult]::new('backfill', 'backfill', [CompletionResultType]::ParameterValue, 'The metrics over the logs'' whole history as timestamped OpenMetrics, for `promtool tsdb create-blocks-from openmetrics`')
            [CompletionResult]::new('events', 'events', [CompletionResultType]::ParameterValue, 'Print the recognized lifecycle events as JSON lines')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for bash, zsh, fish, elvish or powershell')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the manual page (roff) of gwmon: every command, log formats, metrics, alerts')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Write a simulated gateway-service log and its expected report (for tests and benchmarks)')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Generate the man page or shell completions (kept for scripts; see `man`, `completions`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'gwmon;help;report' {
            break
        }
        'gwmon;help;watch' {
            break
        }
        'gwmon;help;alerts' {
            break
        }
        'gwmon;help;check' {
            break
        }
        'gwmon;help;top' {
            break
        }
        'gwmon;help;config' {
            break
        }
        'gwmon;help;backfill' {
            break
        }
        'gwmon;help;events' {
            break
        }
        'gwmon;help;completions' {
            break
        }
        'gwmon;help;man' {
            break
        }
        'gwmon;help;simulate' {
            break
        }
        'gwmon;help;generate' {
            break
        }
        'gwmon;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
