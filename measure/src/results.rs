//! Raw results: what a benchmark measured, on which machine, how. One JSON
//! file per benchmark under `measure/results/`, committed, so the tables
//! and figures can be rendered again without re-running anything.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub os: String,
    pub rustc: String,
    /// The day the measurement ran, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// Whether the processor says it runs under a hypervisor (the
    /// `hypervisor` flag of `/proc/cpuinfo`); `None` where that is not
    /// known, and in results recorded before this was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_machine: Option<bool>,
}

impl Machine {
    /// The machine this process runs on.
    pub fn this() -> Machine {
        let (cpu, virtual_machine) = cpu_and_hypervisor();
        let rustc = Command::new("rustc")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        Machine {
            virtual_machine,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: cpu.unwrap_or_else(|| "unknown CPU".into()),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            rustc,
            date: today(),
        }
    }

    pub fn describe(&self) -> String {
        let cores = match self.cores {
            1 => "1 core".to_string(),
            n => format!("{n} cores"),
        };
        let kind = match self.virtual_machine {
            Some(true) => ", virtual machine",
            Some(false) => ", no hypervisor flag",
            None => "",
        };
        format!(
            "{cores} ({}{kind}), {}, {}, measured {}",
            self.cpu, self.os, self.rustc, self.date
        )
    }
}

/// The CPU's model name, and whether it says it runs under a hypervisor,
/// from `/proc/cpuinfo` (through `procfs`); unknown elsewhere.
#[cfg(target_os = "linux")]
fn cpu_and_hypervisor() -> (Option<String>, Option<bool>) {
    use procfs::Current;
    let Ok(info) = procfs::CpuInfo::current() else {
        return (None, None);
    };
    let model = info.model_name(0).map(str::to_string);
    let hypervisor = info.flags(0).map(|f| f.contains(&"hypervisor"));
    (model, hypervisor)
}

#[cfg(not(target_os = "linux"))]
fn cpu_and_hypervisor() -> (Option<String>, Option<bool>) {
    (None, None)
}

/// Today's date in UTC, from the system clock.
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's civil-from-days algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What one sample is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds.
    #[serde(rename = "ns")]
    Ns,
    #[serde(rename = "bytes")]
    Bytes,
    /// A number of things.
    #[serde(rename = "count")]
    Count,
    /// Messages per second.
    #[serde(rename = "msg/s")]
    MsgPerSec,
    /// A count divided by the messages sent.
    #[serde(rename = "per message")]
    PerMessage,
    /// A count divided by the round trips made.
    #[serde(rename = "per")]
    Per,
    /// A share, in percent (0 to 100).
    #[serde(rename = "%")]
    Percent,
    /// A share, as a fraction (0 to 1), shown in percent.
    #[serde(rename = "share")]
    Share,
}

/// Something measured of a series besides its main figure: its name in
/// the results (a point's `metric`) and its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
}

/// One measured point: a series (a way of doing the work) at one value of
/// the parameter, with every sample kept.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Point {
    pub series: String,
    /// What else was measured of the series, when not the benchmark's main
    /// figure (which is in the results' unit): `p99`, `server CPU`... The
    /// benchmark that records it names it, and its unit, with a `Metric`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub x: u64,
    pub samples: Vec<f64>,
    /// When the samples come from several runs of equal size, one after
    /// the other: how many runs (0 when not split into runs).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub runs: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Point {
    /// The main figure of `series` at `x`.
    pub fn new(series: &str, x: u64, samples: Vec<f64>) -> Point {
        Point {
            series: series.into(),
            metric: None,
            x,
            samples,
            runs: 0,
        }
    }

    /// Samples that belong to no series, to take their quantiles.
    pub fn of(samples: Vec<f64>) -> Point {
        Point::new("", 0, samples)
    }

    /// Another metric of `series` at `x`.
    pub fn metric(
        series: &str,
        metric: Metric,
        x: u64,
        samples: Vec<f64>,
    ) -> Point {
        Point {
            metric: Some(metric.name.into()),
            ..Point::new(series, x, samples)
        }
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.samples.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The q-quantile (0..=1) of the samples, nearest rank.
    pub fn quantile(&self, q: f64) -> f64 {
        let v = self.sorted();
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }

    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    pub fn max(&self) -> f64 {
        *self.sorted().last().unwrap()
    }

    /// The q-quantile of each run, when the samples are split into runs.
    pub fn per_run_quantile(&self, q: f64) -> Vec<f64> {
        if self.runs < 2 {
            return vec![self.quantile(q)];
        }
        self.samples
            .chunks(self.samples.len() / self.runs)
            .map(|c| Point::of(c.to_vec()).quantile(q))
            .collect()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Results {
    pub bench: String,
    pub machine: Machine,
    /// `quick` or `full`.
    pub mode: String,
    /// How the samples were taken, in a sentence.
    pub method: String,
    /// What one sample of a point's main figure is (metrics have their
    /// own units; a benchmark that records only metrics gives theirs).
    pub unit: Unit,
    pub points: Vec<Point>,
    /// For a timeline: when each request ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// One request of a timeline, from its start to its end, in nanoseconds
/// since the run began.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Span {
    pub series: String,
    /// The request's place in the run, by start time.
    pub request: u64,
    pub start: f64,
    pub end: f64,
}

impl Results {
    /// A fresh record of `bench`, measured on `machine` today.
    pub fn new(
        bench: &str,
        machine: Machine,
        mode: crate::Mode,
        method: String,
        unit: Unit,
        points: Vec<Point>,
    ) -> Results {
        Results {
            bench: bench.into(),
            machine,
            mode: mode.name().into(),
            method,
            unit,
            points,
            spans: Vec::new(),
        }
    }

    /// The main figure of `series` at `x`.
    pub fn point(&self, series: &str, x: u64) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.series == series && p.x == x && p.metric.is_none())
    }

    /// Another metric of `series` at `x`.
    pub fn metric(
        &self,
        series: &str,
        metric: Metric,
        x: u64,
    ) -> Option<&Point> {
        self.points.iter().find(|p| {
            p.series == series
                && p.x == x
                && p.metric.as_deref() == Some(metric.name)
        })
    }

    /// The series, in the order they were measured.
    pub fn series(&self) -> Vec<String> {
        let mut s: Vec<String> = Vec::new();
        for p in &self.points {
            if !s.contains(&p.series) {
                s.push(p.series.clone());
            }
        }
        s
    }

    /// The parameter values, ascending.
    pub fn xs(&self) -> Vec<u64> {
        let mut xs: Vec<u64> = self.points.iter().map(|p| p.x).collect();
        xs.sort_unstable();
        xs.dedup();
        xs
    }
}

pub fn path(root: &Path, bench: &str) -> PathBuf {
    root.join("measure/results").join(format!("{bench}.json"))
}

pub fn load(root: &Path, bench: &str) -> io::Result<Results> {
    let text = fs::read_to_string(path(root, bench))?;
    serde_json::from_str(&text).map_err(io::Error::other)
}

pub fn save(root: &Path, results: &Results) -> io::Result<()> {
    let p = path(root, &results.bench);
    fs::create_dir_all(p.parent().unwrap())?;
    let mut text = Vec::new();
    save_to(&mut text, results)?;
    fs::write(p, text)
}

/// The results as `save` writes them: pretty JSON and a newline.
pub fn save_to(out: &mut Vec<u8>, results: &Results) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, results)
        .map_err(io::Error::other)?;
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Point;
    use crate::benchmarks::echo::load::nearest_rank;

    fn point(samples: &[f64]) -> Point {
        Point::of(samples.to_vec())
    }

    /// One percentile convention for the whole repository: the tables'
    /// and the load generator's (Listing 3-10) agree, nearest rank.
    #[test]
    fn one_percentile_convention() {
        assert_eq!(point(&[1.0, 2.0]).median(), 1.0);
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(point(&ten).median(), 5.0);
        assert_eq!(point(&ten).quantile(0.9), 9.0);
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(point(&hundred).quantile(0.99), 99.0);
        let lists: [&[f64]; 4] = [
            &[5.0],
            &[1.0, 2.0],
            &[3.0, 1.0, 2.0],
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0],
        ];
        for list in lists {
            let mut sorted = list.to_vec();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
                let ours = point(list).quantile(q);
                assert_eq!(ours, nearest_rank(&sorted, q), "{list:?} at {q}");
            }
        }
    }
}
