//! `output.pattern`: what a run's output must look like when parts of it
//! vary from run to run.
//!
//! The pattern is the output itself with each varying number replaced by a
//! placeholder that states its invariant:
//!
//! - `{int:LO..=HI}`: an integer between LO and HI inclusive;
//! - `{dec:LO..=HI}`: a decimal number (optional fraction) in that range.
//!
//! Everything else must match literally, line by line.
//!
//! A line that is exactly `{or}` separates alternatives: the output must
//! match one of them whole. A program whose output depends on the machine
//! (how many file descriptors it may open, say) states each outcome.
//!
//! A line that starts with `{0+}` matches the output's next lines, as
//! many as match the rest of it, none included (greedy: the lines after
//! it must not match it too). For a log line that a server writes each
//! time it retries, for as long as something lasts.

use regex::Regex;
use std::sync::LazyLock;

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{(int|dec):(-?[0-9.]+)\.\.=(-?[0-9.]+)\}").unwrap()
});

struct Slot {
    kind: String,
    lo: f64,
    hi: f64,
}

/// Checks `text` against `pattern`; the error says which line and which
/// field broke the pattern (of each alternative, if there are several).
pub fn check(pattern: &str, text: &str) -> Result<(), String> {
    let p: Vec<&str> = pattern.lines().collect();
    let alternatives: Vec<&[&str]> = p.split(|l| *l == "{or}").collect();
    if alternatives.len() == 1 {
        return check_one(&p, text);
    }
    let mut why = Vec::new();
    for (n, alternative) in alternatives.iter().enumerate() {
        match check_one(alternative, text) {
            Ok(()) => return Ok(()),
            Err(e) => why.push(format!("alternative {}: {e}", n + 1)),
        }
    }
    Err(why.join("\n"))
}

fn check_one(p: &[&str], text: &str) -> Result<(), String> {
    let t: Vec<&str> = text.lines().collect();
    if p.iter().any(|l| l.starts_with(REPEAT)) {
        return check_repeats(p, &t);
    }
    if p.len() != t.len() {
        return Err(format!(
            "the pattern has {} lines, the output {}",
            p.len(),
            t.len()
        ));
    }
    for (n, (pl, tl)) in p.iter().zip(&t).enumerate() {
        check_line(pl, tl).map_err(|e| {
            format!("line {}: {e}\n  pattern: {pl}\n  output:  {tl}", n + 1)
        })?;
    }
    Ok(())
}

const REPEAT: &str = "{0+}";

/// `check_one` for a pattern with repeated lines: walks both, a pattern
/// line with `{0+}` taking every output line that matches it.
fn check_repeats(p: &[&str], t: &[&str]) -> Result<(), String> {
    let mut next = 0; // The next output line to match.
    for pl in p {
        if let Some(repeated) = pl.strip_prefix(REPEAT) {
            while next < t.len() && check_line(repeated, t[next]).is_ok() {
                next += 1;
            }
            continue;
        }
        let Some(tl) = t.get(next) else {
            return Err(format!("the output ends before `{pl}`"));
        };
        check_line(pl, tl).map_err(|e| {
            format!("line {}: {e}\n  pattern: {pl}\n  output:  {tl}", next + 1)
        })?;
        next += 1;
    }
    match t.get(next) {
        None => Ok(()),
        Some(tl) => Err(format!("line {}: more output: {tl}", next + 1)),
    }
}

fn check_line(pattern: &str, line: &str) -> Result<(), String> {
    let mut re = String::from("^");
    let mut slots = Vec::new();
    let mut last = 0;
    for cap in PLACEHOLDER.captures_iter(pattern) {
        let m = cap.get(0).unwrap();
        re.push_str(&regex::escape(&pattern[last..m.start()]));
        let kind = cap[1].to_string();
        re.push_str(if kind == "int" {
            r"(-?\d+)"
        } else {
            r"(-?\d+(?:\.\d+)?)"
        });
        let bound = |s: &str| {
            s.parse::<f64>()
                .map_err(|_| format!("bad bound `{s}` in `{}`", m.as_str()))
        };
        slots.push(Slot {
            kind,
            lo: bound(&cap[2])?,
            hi: bound(&cap[3])?,
        });
        last = m.end();
    }
    re.push_str(&regex::escape(&pattern[last..]));
    re.push('$');
    let re = Regex::new(&re).unwrap();
    let caps = re
        .captures(line)
        .ok_or_else(|| "the fixed text does not match".to_string())?;
    for (i, slot) in slots.iter().enumerate() {
        let field = &caps[i + 1];
        let v: f64 = field.parse().unwrap();
        if !(slot.lo..=slot.hi).contains(&v) {
            return Err(format!(
                "field {} is {field}, outside the invariant {}:{}..={}",
                i + 1,
                slot.kind,
                slot.lo,
                slot.hi
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn placeholders_check_their_ranges() {
        let p = "lost {int:0..=100000} of 100000\ntook {dec:0..=5} s";
        assert!(check(p, "lost 250 of 100000\ntook 1.25 s").is_ok());
        assert!(check(p, "lost 250 of 100001\ntook 1.25 s").is_err());
        assert!(check(p, "lost 100001 of 100000\ntook 1 s").is_err());
        assert!(check(p, "lost 2.5 of 100000\ntook 1 s").is_err());
        assert!(check(p, "lost 1 of 100000").is_err());
    }

    #[test]
    fn one_alternative_must_match_whole() {
        let p = "a {int:1..=2}\nb\n{or}\na {int:5..=6}\nstopped";
        assert!(check(p, "a 1\nb").is_ok());
        assert!(check(p, "a 5\nstopped").is_ok());
        assert!(check(p, "a 5\nb").is_err());
        assert!(check(p, "a 1\nstopped").is_err());
        let e = check(p, "a 3\nb").unwrap_err();
        assert!(e.contains("alternative 1") && e.contains("alternative 2"));
    }

    #[test]
    fn repeated_lines_match_none_or_many() {
        let p = "a {int:1..=2}\n{0+}retry {int:0..=9}\nend";
        assert!(check(p, "a 1\nend").is_ok());
        assert!(check(p, "a 1\nretry 1\nretry 2\nend").is_ok());
        assert!(check(p, "a 1\nretry 1\nretry 20\nend").is_err());
        assert!(check(p, "a 1\nretry 1").is_err());
        assert!(check(p, "a 1\nend\nmore").is_err());
    }

    #[test]
    fn literal_braces_and_regex_characters_stay_literal() {
        let p = "v = {:?} (a+b)* {int:1..=3}";
        assert!(check(p, "v = {:?} (a+b)* 2").is_ok());
        assert!(check(p, "v = {:?} (aab)* 2").is_err());
    }
}
