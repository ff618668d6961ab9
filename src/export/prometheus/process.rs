//! The exporter conventions: `gwmon_build_info` and the standard `process_*` metrics of a
//! long-running exporter, read from `/proc/self` (Linux; elsewhere they are absent).

use super::out::{Kind, Sink};

/// `gwmon_build_info{version,arch,os} 1`.
pub fn build_info(o: &mut dyn Sink) {
    let name = "gwmon_build_info";
    o.family(
        name,
        Kind::Gauge,
        "gwmon's version and target, always 1 (join on it with group_left).",
        None,
    );
    o.sample(
        name,
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("arch", std::env::consts::ARCH),
            ("os", std::env::consts::OS),
        ],
        1.0,
    );
}

/// What /proc says about this process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub start_time_seconds: f64,
    pub virtual_bytes: f64,
    pub resident_bytes: f64,
}

/// Parse `/proc/self/stat` (after the command name, which may hold blanks and parentheses) with
/// the clock tick, the page size and the boot time from `/proc/stat`.
pub fn parse_stat(stat: &str, ticks: f64, page: f64, btime: f64) -> Option<ProcessStats> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is index 0: utime 14, stime 15, starttime 22, vsize 23, rss 24.
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<f64>().ok();
    Some(ProcessStats {
        cpu_seconds: (num(11)? + num(12)?) / ticks,
        start_time_seconds: btime + num(19)? / ticks,
        virtual_bytes: num(20)?,
        resident_bytes: num(21)? * page,
    })
}

/// `btime` of `/proc/stat`: the boot time in seconds since the epoch.
pub fn parse_btime(proc_stat: &str) -> Option<f64> {
    proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
}

fn read_stats() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let btime = parse_btime(&std::fs::read_to_string("/proc/stat").ok()?)?;
    // SAFETY: sysconf only reads a configuration value.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if ticks <= 0 || page <= 0 {
        return None;
    }
    parse_stat(&stat, ticks as f64, page as f64, btime)
}

fn open_fds() -> Option<f64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as f64)
}

fn max_fds() -> Option<f64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) };
    (r == 0 && l.rlim_cur != libc::RLIM_INFINITY).then_some(l.rlim_cur as f64)
}

/// The standard process metrics (as the Prometheus client libraries name them).
pub fn process_families(o: &mut dyn Sink) {
    if let Some(p) = read_stats() {
        o.counter_f(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "seconds",
            p.cpu_seconds,
        );
        o.gauge(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            Some("seconds"),
            Some(p.start_time_seconds),
        );
        o.gauge(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            Some("bytes"),
            Some(p.virtual_bytes),
        );
        o.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            Some("bytes"),
            Some(p.resident_bytes),
        );
    }
    o.gauge(
        "process_open_fds",
        "Number of open file descriptors.",
        None,
        open_fds(),
    );
    o.gauge(
        "process_max_fds",
        "Maximum number of open file descriptors.",
        None,
        max_fds(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_with_a_command_name_holding_blanks_and_parentheses() {
        let stat = "4242 (gw mon) x) S 1 4242 4242 0 -1 4194560 600 0 0 0 250 50 0 0 20 0 3 0 \
                    1000 123456789 2048 18446744073709551615";
        let p = parse_stat(stat, 100.0, 4096.0, 1_700_000_000.0).unwrap();
        assert_eq!(p.cpu_seconds, 3.0);
        assert_eq!(p.start_time_seconds, 1_700_000_010.0);
        assert_eq!(p.virtual_bytes, 123_456_789.0);
        assert_eq!(p.resident_bytes, 2048.0 * 4096.0);
        assert_eq!(parse_stat("4242 (gwmon) S 1", 100.0, 4096.0, 0.0), None);
        assert_eq!(parse_stat("no command", 100.0, 4096.0, 0.0), None);
        assert_eq!(parse_btime("cpu 1 2\nbtime 1700000000\n"), Some(1.7e9));
    }

    #[test]
    fn this_process_is_measured() {
        let p = read_stats().expect("/proc/self/stat");
        assert!(p.resident_bytes > 0.0 && p.start_time_seconds > 1e9);
        assert!(open_fds().unwrap() >= 3.0);
    }
}
