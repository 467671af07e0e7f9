//! What a benchmark is: a name, a way to run it, the tables and figures it
//! renders, and the claims the prose makes about its results. Each lives in
//! a module of its own under `benchmarks/`, registered there in one list.

use crate::claim::Claim;
use crate::results::Results;

/// One benchmark.
pub struct Bench {
    /// Its name on the command line and in `measure/results/<name>.json`.
    pub name: &'static str,
    /// Runs it and returns the raw results; `None` when it cannot run on
    /// this machine (it says why on stderr), and its saved results stay.
    pub run: fn(Mode) -> Option<Results>,
    /// Its tables and figures: (file name under `src/measurements/`,
    /// content), rendered from its results alone.
    pub render: fn(&Results) -> Vec<(&'static str, String)>,
    /// The ratios the prose states about its results: rendered into
    /// `src/measurements/<name>-claims.md` and checked.
    pub claims: fn() -> Vec<Claim>,
    /// What it runs in fresh processes of its own, if anything.
    pub child: Option<Child>,
}

/// A subcommand of `measure` (`measure <command> ARGS...`) that a
/// benchmark starts in a child process: a probe that must start from a
/// fresh process, or a server that must not share this one's cores.
pub struct Child {
    pub command: &'static str,
    /// Runs with the arguments after the command; prints its result.
    pub run: fn(&[String]) -> Result<(), String>,
}

/// A benchmark that makes no claims.
pub fn no_claims() -> Vec<Claim> {
    Vec::new()
}

/// How long to measure: quick for a look, full for the book.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Quick,
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    /// Criterion's samples per point.
    pub fn samples(self) -> usize {
        match self {
            Mode::Quick => 10,
            Mode::Full => 30,
        }
    }
}
