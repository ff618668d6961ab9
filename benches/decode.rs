//! Micro-benchmark of the scan stage (search for `GATEWAY_`, decode, classify) on one core:
//! `Scanner::scan` over an 8 MiB simulated log of each shape, with its format given and with
//! `auto`, beside the grep-like floor (counting the lines that hold `GATEWAY_` with memchr's
//! memmem, as `grep -c` does). Throughput is in bytes, so the figures compare with
//! benches/report.sh. Run: `cargo bench --bench decode` (add `-- console` to pick).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use gwmon::decode::Format;
use gwmon::recognize::scan::{ScanConfig, Scanner};

const SIZE: u64 = 8 << 20;

/// An ~8 MiB log of the realistic mix, written by `gwmon simulate` (seed 1).
fn simulated(shape: &str) -> Vec<u8> {
    let path: PathBuf = std::env::temp_dir().join(format!(
        "gwmon-bench-decode-{}-{shape}.log",
        std::process::id()
    ));
    let status = Command::new(env!("CARGO_BIN_EXE_gwmon"))
        .args([
            "simulate",
            "--seed",
            "1",
            "--format",
            shape,
            "--target-bytes",
        ])
        .arg(SIZE.to_string())
        .arg("--out")
        .arg(&path)
        .status()
        .expect("run gwmon simulate");
    assert!(status.success(), "gwmon simulate failed");
    let data = std::fs::read(&path).expect("read the simulated log");
    let _ = std::fs::remove_file(&path);
    data
}

/// Lines holding the category bytes, counted the way grep -c does.
fn grep_count(data: &[u8], finder: &memchr::memmem::Finder<'_>) -> u64 {
    let mut n = 0;
    let mut pos = 0;
    while let Some(hit) = finder.find(&data[pos..]) {
        n += 1;
        let at = pos + hit;
        match memchr::memchr(b'\n', &data[at..]) {
            Some(nl) => pos = at + nl + 1,
            None => break,
        }
    }
    n
}

fn scan(c: &mut Criterion) {
    let shapes = [
        ("console", Format::Console),
        ("docker", Format::Docker),
        ("otlp", Format::Otlp),
        ("logcli", Format::Logcli),
    ];
    let finder = memchr::memmem::Finder::new(b"GATEWAY_");
    for (name, format) in shapes {
        let data = simulated(name);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(20);
        g.bench_function("grep-like floor", |b| {
            b.iter(|| grep_count(black_box(&data), &finder))
        });
        for (label, f) in [("scan", format), ("scan auto", Format::Auto)] {
            let mut scanner = Scanner::new(ScanConfig {
                format: f,
                max_line: 1 << 20,
                verbose: false,
            });
            g.bench_with_input(BenchmarkId::new(label, data.len()), &data, |b, data| {
                b.iter(|| {
                    let s = scanner.scan(black_box(data), 1);
                    black_box((s.lines, s.hits.len(), s.skipped.len()))
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, scan);
criterion_main!(benches);
