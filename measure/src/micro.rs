//! Micro-benchmarks run with criterion (spawn, handoff, contention):
//! criterion takes the samples; we read every sample back from the files
//! it writes (`<target>/criterion/<group>/.../new/sample.json`), so the
//! tables show the spread, not only an estimate.

use crate::bench::Mode;
use crate::results::Point;
use criterion::{Criterion, SamplingMode};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Criterion, set up for `mode`.
fn criterion(mode: Mode) -> Criterion {
    let (warm, measure) = match mode {
        Mode::Quick => (200, 800),
        Mode::Full => (1000, 4000),
    };
    Criterion::default()
        .sample_size(mode.samples())
        .warm_up_time(Duration::from_millis(warm))
        .measurement_time(Duration::from_millis(measure))
        .without_plots()
}

/// Criterion's output directory for a group, found as criterion 0.8 finds
/// it (`Criterion::default`): `$CRITERION_HOME`, else `criterion/` in the
/// target directory, which `$CARGO_TARGET_DIR` names or else cargo
/// reports.
fn group_dir(group: &str) -> PathBuf {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let home = HOME.get_or_init(|| {
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            return PathBuf::from(home);
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let mut cmd = cargo_metadata::MetadataCommand::new();
                if let Some(cargo) = std::env::var_os("CARGO") {
                    cmd.cargo_path(cargo);
                }
                cmd.manifest_path(crate::root().join("Cargo.toml"))
                    .no_deps()
                    .other_options(vec!["--offline".to_string()])
                    .exec()
                    .expect("cargo metadata, for criterion's directory")
                    .target_directory
                    .into_std_path_buf()
            });
        target.join("criterion")
    });
    home.join(group)
}

/// Every point of a finished group, per-iteration times in nanoseconds.
fn harvest(group: &str) -> Vec<Point> {
    let mut points = Vec::new();
    let mut stack = vec![group_dir(group)];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() && entry.file_name() != "base" {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "benchmark.json")
                && p.parent().is_some_and(|d| d.ends_with("new"))
            {
                points.push(read_point(p.parent().unwrap()));
            }
        }
    }
    points
}

fn read_point(dir: &Path) -> Point {
    let read = |f: &str| -> Value {
        serde_json::from_str(&fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let id = read("benchmark.json");
    let sample = read("sample.json");
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let iters = nums(&sample["iters"]);
    let times = nums(&sample["times"]);
    Point::new(
        id["function_id"].as_str().unwrap(),
        id["value_str"].as_str().unwrap().parse().unwrap(),
        times.iter().zip(&iters).map(|(t, i)| t / i).collect(),
    )
}

/// Runs one criterion group and collects its samples, in the order the
/// series were declared.
pub(crate) fn run_group(
    mode: Mode,
    group: &str,
    series_order: &[&str],
    define: impl FnOnce(
        &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ),
) -> Vec<Point> {
    let _ = fs::remove_dir_all(group_dir(group));
    let mut c = criterion(mode);
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat);
    define(&mut g);
    g.finish();
    let mut points = harvest(group);
    // Reading another directory than criterion wrote finds nothing: say so
    // rather than return no points.
    assert!(
        !points.is_empty(),
        "no criterion samples under {}: criterion wrote them elsewhere",
        group_dir(group).display()
    );
    points.sort_by_key(|p| {
        let s = series_order.iter().position(|s| *s == p.series);
        (s.unwrap_or(usize::MAX), p.x)
    });
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use criterion::BenchmarkId;
    use std::hint::black_box;

    /// Criterion's samples are read where criterion writes them: a group
    /// of one tiny benchmark, run for real, is found again.
    #[test]
    fn criterion_writes_where_we_read() {
        let points = run_group(Mode::Quick, "self-test", &["sum"], |g| {
            g.bench_function(BenchmarkId::new("sum", 3), |b| {
                b.iter(|| black_box(1u64) + black_box(2u64))
            });
        });
        assert_eq!(points.len(), 1);
        assert_eq!((points[0].series.as_str(), points[0].x), ("sum", 3));
        assert_eq!(points[0].samples.len(), Mode::Quick.samples());
        let _ = fs::remove_dir_all(group_dir("self-test"));
    }
}
