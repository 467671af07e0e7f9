//! The ratios the prose states. Each benchmark lists its own; they are
//! rendered, with the measured value, into
//! `src/measurements/<bench>-claims.md`, which the chapter includes;
//! rendering fails when a claim no longer holds on the committed results,
//! and so does the test that re-renders them. Only ratios that are stable
//! on a noisy two-core machine belong here: never an absolute time.

use crate::render::header;
use crate::results::Results;
use std::fmt::Write as _;

/// A ratio the prose states, checked against the committed results.
pub struct Claim {
    /// The sentence, with `{ratio}` where the measured ratio goes.
    pub text: &'static str,
    pub bound: Bound,
    /// (numerator, denominator) points: medians are compared.
    pub ratio: fn(&Results) -> Option<(f64, f64)>,
}

/// What the prose promises about a ratio.
pub enum Bound {
    AtLeast(f64),
    Below(f64),
    /// For a count or a share, not a ratio of two measurements: the
    /// claim's denominator is 1.
    CountAtLeast(f64),
    /// Two-sided, for "the same, within the noise".
    Between(f64, f64),
    CountBetween(f64, f64),
}

impl Bound {
    fn holds(&self, ratio: f64) -> bool {
        match *self {
            Bound::AtLeast(b) | Bound::CountAtLeast(b) => ratio >= b,
            Bound::Below(b) => ratio < b,
            Bound::Between(lo, hi) | Bound::CountBetween(lo, hi) => {
                lo <= ratio && ratio <= hi
            }
        }
    }

    fn describe(&self) -> String {
        match *self {
            Bound::AtLeast(b) => format!("at least {b}x"),
            Bound::Below(b) => format!("below {b}x"),
            Bound::CountAtLeast(b) => format!("at least {b}"),
            Bound::Between(lo, hi) => format!("between {lo}x and {hi}x"),
            Bound::CountBetween(lo, hi) => format!("between {lo} and {hi}"),
        }
    }
}

/// The claims of one benchmark as a markdown list, with the measured
/// ratios; a claim that does not hold, or has no data, is an error.
pub fn claims_md(
    claims: &[Claim],
    r: &Results,
    errors: &mut Vec<String>,
) -> String {
    let bench = &r.bench;
    let mut t = header(bench);
    t.push_str("\n\n");
    for c in claims {
        match (c.ratio)(r) {
            Some((num, den)) => {
                let ratio = num / den;
                if !c.bound.holds(ratio) {
                    errors.push(format!(
                        "claim no longer holds ({bench}): \"{}\": measured \
                         {ratio:.2}x, the book says {}",
                        c.text,
                        c.bound.describe()
                    ));
                }
                let sentence = c.text.replace(
                    "{ratio}",
                    &if ratio < 10.0 {
                        format!("{ratio:.2}")
                    } else {
                        format!("{ratio:.1}")
                    },
                );
                let _ = writeln!(
                    t,
                    "- {sentence} (checked by the tests: {}).",
                    c.bound.describe()
                );
            }
            None => {
                errors.push(format!("claim has no data ({bench}): {}", c.text))
            }
        }
    }
    t
}

/// The medians of two points, `(series, x)` each: a claim's usual ratio.
pub fn medians(
    r: &Results,
    a: (&str, u64),
    b: (&str, u64),
) -> Option<(f64, f64)> {
    Some((r.point(a.0, a.1)?.median(), r.point(b.0, b.1)?.median()))
}
