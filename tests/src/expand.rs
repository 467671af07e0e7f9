//! The two directives of mdBook's `links` preprocessor that the book uses,
//! `{{#include file}}` and `{{#rustdoc_include file}}`, each of a whole
//! file or of an anchor (`file:name`), expanded as mdBook 0.5 expands
//! them, but strict.
//!
//! skeptic reads raw markdown and knows nothing of mdBook's directives, so
//! the build script expands every chapter with this module and hands the
//! copies to skeptic. The expansion follows mdBook 0.5's `links.rs` and
//! `take_lines.rs` for those forms (the same regular expressions, the same
//! hidden-line prefix, the same recursion and escapes), and the `mdbook`
//! test checks that it gives the very text mdBook gives for every chapter.
//!
//! Every other form (line ranges, `playground`, `title`) is refused: the
//! book has no use for them, and a line range breaks silently when a
//! listing changes. Where mdBook only logs an error and carries on (a
//! missing file), or silently renders an empty block (a misspelled
//! anchor), this module reports an error naming the chapter, the directive
//! and the file.
//!
//! Why not take the text from mdBook itself (`mdbook-driver`, a
//! dependency of the tests already)? Its preprocessor never fails, says
//! nothing of a missing anchor and does not tell which files and anchors a
//! chapter used, which the book's rules need; and as a dependency of the
//! build script it compiled fourteen crates a second time (about 5 s more
//! per cold build on two cores).
//!
//! This file is compiled twice: by the build script (through `#[path]`)
//! and as a module of the `book-tests` library.

use regex::{Captures, Regex};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

const ESCAPE_CHAR: char = '\\';
const MAX_LINK_NESTED_DEPTH: usize = 10;

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)              # insignificant whitespace mode
        \\\{\{\#.*\}\}      # match escaped link
        |                   # or
        \{\{\s*             # link opening parens and whitespace
        \#([a-zA-Z0-9_]+)   # link type
        \s+                 # separating whitespace
        ([^}]+)             # link target path and space separated properties
        \}\}                # link closing parens",
    )
    .unwrap()
});
static ANCHOR_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR:\s*(?P<anchor_name>[\w_-]+)").unwrap()
});
static ANCHOR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ANCHOR_END:\s*(?P<anchor_name>[\w_-]+)").unwrap()
});

/// One file (and anchor, if any) that a chapter pulled in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Use {
    /// The included file, as the directive names it joined to its base
    /// directory (not canonicalised).
    pub file: PathBuf,
    pub anchor: Option<String>,
    /// `include` or `rustdoc_include`.
    pub kind: String,
}

/// A chapter after expansion.
#[derive(Debug, Default)]
pub struct Expanded {
    pub content: String,
    pub uses: Vec<Use>,
    /// Problems found; empty when the chapter is sound.
    pub errors: Vec<String>,
}

/// What a directive takes of its file.
#[derive(Debug, Clone, PartialEq)]
enum Range {
    Whole,
    Anchor(String),
}

impl Range {
    /// What follows the file's name: nothing, or `:anchor`. A line range
    /// (`:3`, `:2:5`, `::5`) is an error, and so is anything after an
    /// anchor (`:a:b`, which mdBook reads as the anchor `a`).
    fn parse(part: Option<&str>) -> Result<Range, &'static str> {
        let line_range = "line ranges break silently when a listing \
                          changes; use an anchor";
        let first = part.map(|p| p.split(':').next().unwrap_or_default());
        match (part, first) {
            (None | Some(""), _) => Ok(Range::Whole),
            (_, Some(f)) if f.is_empty() || f.parse::<usize>().is_ok() => {
                Err(line_range)
            }
            (Some(p), _) if p.contains(':') => {
                Err("nothing may follow an anchor")
            }
            (Some(anchor), _) => Ok(Range::Anchor(anchor.to_string())),
        }
    }
}

/// A whole file, as mdBook includes it: its lines, joined by `\n`.
fn whole(s: &str) -> String {
    s.lines().collect::<Vec<_>>().join("\n")
}

fn take_anchored_lines(s: &str, anchor: &str) -> String {
    let mut retained = Vec::<&str>::new();
    let mut anchor_found = false;
    for l in s.lines() {
        if anchor_found {
            match ANCHOR_END.captures(l) {
                Some(cap) => {
                    if &cap["anchor_name"] == anchor {
                        break;
                    }
                }
                None => {
                    if !ANCHOR_START.is_match(l) {
                        retained.push(l);
                    }
                }
            }
        } else if let Some(cap) = ANCHOR_START.captures(l)
            && &cap["anchor_name"] == anchor
        {
            anchor_found = true;
        }
    }
    retained.join("\n")
}

fn take_rustdoc_include_anchored_lines(s: &str, anchor: &str) -> String {
    let mut output = String::with_capacity(s.len());
    let mut within = false;
    for l in s.lines() {
        if within {
            match ANCHOR_END.captures(l) {
                Some(cap) => {
                    if &cap["anchor_name"] == anchor {
                        within = false;
                    }
                }
                None => {
                    if !ANCHOR_START.is_match(l) {
                        output.push_str(l);
                        output.push('\n');
                    }
                }
            }
        } else if let Some(cap) = ANCHOR_START.captures(l) {
            if &cap["anchor_name"] == anchor {
                within = true;
            }
        } else if !ANCHOR_END.is_match(l) {
            output.push_str("# ");
            output.push_str(l);
            output.push('\n');
        }
    }
    output.pop();
    output
}

/// The anchors a file declares, checked for balance: every `ANCHOR: x`
/// has one `ANCHOR_END: x` after it, and names are not declared twice.
pub fn anchors_of(text: &str) -> Result<BTreeSet<String>, String> {
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(cap) = ANCHOR_END.captures(line) {
            let name = &cap["anchor_name"];
            match open.iter().position(|(o, _)| o == name) {
                Some(p) => {
                    open.remove(p);
                }
                None => {
                    return Err(format!(
                        "line {n}: ANCHOR_END: {name} without a matching \
                         ANCHOR: {name} before it"
                    ));
                }
            }
        } else if let Some(cap) = ANCHOR_START.captures(line) {
            let name = cap["anchor_name"].to_string();
            if !seen.insert(name.clone()) {
                return Err(format!(
                    "line {n}: anchor `{name}` declared twice"
                ));
            }
            open.push((name, n));
        }
    }
    if let Some((name, n)) = open.first() {
        return Err(format!(
            "line {n}: ANCHOR: {name} is never closed by ANCHOR_END: {name}"
        ));
    }
    Ok(seen)
}

enum Link {
    Escaped,
    Include(PathBuf, Range),
    RustdocInclude(PathBuf, Range),
}

/// A directive, or why the book refuses it.
fn parse_link(cap: &Captures<'_>) -> Result<Link, String> {
    match (cap.get(0), cap.get(1), cap.get(2)) {
        (_, Some(typ), Some(rest)) => {
            let typ = typ.as_str();
            if typ != "include" && typ != "rustdoc_include" {
                return Err(format!(
                    "`{typ}` is not a directive the book uses (only \
                     `include` and `rustdoc_include`)"
                ));
            }
            let mut props = rest.as_str().split_whitespace();
            let file = props.next().ok_or("no file named")?;
            if props.next().is_some() {
                return Err("more than a file after the directive".into());
            }
            let mut parts = file.splitn(2, ':');
            let path = PathBuf::from(parts.next().unwrap());
            let range = Range::parse(parts.next())?;
            Ok(match typ {
                "include" => Link::Include(path, range),
                _ => Link::RustdocInclude(path, range),
            })
        }
        (Some(m), None, None) if m.as_str().starts_with(ESCAPE_CHAR) => {
            Ok(Link::Escaped)
        }
        _ => Err("not a directive".into()),
    }
}

/// Expands one chapter. `src_dir` is the book's `src/`, `chapter` the
/// chapter's path relative to it.
pub fn expand_chapter(src_dir: &Path, chapter: &Path, text: &str) -> Expanded {
    let base = src_dir.join(chapter.parent().unwrap_or(Path::new("")));
    let mut out = Expanded::default();
    let name = chapter.display().to_string();
    out.content = replace_all(text, &base, &name, 0, &mut out);
    out
}

fn replace_all(
    s: &str,
    base: &Path,
    chapter: &str,
    depth: usize,
    out: &mut Expanded,
) -> String {
    let mut previous_end = 0;
    let mut replaced = String::new();
    for cap in LINK.captures_iter(s) {
        let whole = cap.get(0).unwrap();
        let link = match parse_link(&cap) {
            Ok(link) => link,
            Err(why) => {
                out.errors
                    .push(format!("{chapter}: `{}`: {why}", whole.as_str()));
                continue;
            }
        };
        replaced.push_str(&s[previous_end..whole.start()]);
        let text = whole.as_str();
        match render(&link, base, text, chapter, out) {
            Ok(new_content) => {
                let rel = match &link {
                    Link::Include(p, _) | Link::RustdocInclude(p, _) => Some(
                        base.join(p)
                            .parent()
                            .expect("included file is not /")
                            .to_path_buf(),
                    ),
                    _ => None,
                };
                if depth < MAX_LINK_NESTED_DEPTH {
                    match rel {
                        Some(rel) => replaced.push_str(&replace_all(
                            &new_content,
                            &rel,
                            chapter,
                            depth + 1,
                            out,
                        )),
                        None => replaced.push_str(&new_content),
                    }
                } else {
                    out.errors.push(format!(
                        "{chapter}: includes nested deeper than \
                         {MAX_LINK_NESTED_DEPTH} (a cycle?) at `{text}`"
                    ));
                }
                previous_end = whole.end();
            }
            Err(e) => {
                out.errors.push(e);
                previous_end = whole.start();
            }
        }
    }
    replaced.push_str(&s[previous_end..]);
    replaced
}

fn render(
    link: &Link,
    base: &Path,
    text: &str,
    chapter: &str,
    out: &mut Expanded,
) -> Result<String, String> {
    let read = |p: &Path| {
        let target = base.join(p);
        fs::read_to_string(&target).map_err(|e| {
            format!(
                "{chapter}: `{text}`: cannot read {}: {e}",
                target.display()
            )
        })
    };
    let check_range = |file: &Path, s: &str, range: &Range| match range {
        Range::Anchor(a) => match anchors_of(s) {
            Err(e) => Err(format!(
                "{chapter}: `{text}`: {}: unbalanced anchors: {e}",
                base.join(file).display()
            )),
            Ok(set) if !set.contains(a) => Err(format!(
                "{chapter}: `{text}`: no anchor `{a}` in {} (it has: {})",
                base.join(file).display(),
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
            Ok(_) => Ok(()),
        },
        Range::Whole => Ok(()),
    };
    let mut record = |file: &Path, range: &Range, kind: &str| {
        out.uses.push(Use {
            file: base.join(file),
            anchor: match range {
                Range::Anchor(a) => Some(a.clone()),
                Range::Whole => None,
            },
            kind: kind.to_string(),
        })
    };
    match link {
        Link::Escaped => Ok(text[1..].to_owned()),
        Link::Include(p, range) | Link::RustdocInclude(p, range) => {
            let rustdoc = matches!(link, Link::RustdocInclude(..));
            let s = read(p)?;
            // mdBook renders a bad anchor as nothing: we do the same, and
            // report it.
            if let Err(e) = check_range(p, &s, range) {
                out.errors.push(e);
            }
            let kind = if rustdoc {
                "rustdoc_include"
            } else {
                "include"
            };
            record(p, range, kind);
            Ok(match (range, rustdoc) {
                (Range::Whole, _) => whole(&s),
                (Range::Anchor(a), false) => take_anchored_lines(&s, a),
                (Range::Anchor(a), true) => {
                    take_rustdoc_include_anchored_lines(&s, a)
                }
            })
        }
    }
}

/// A fenced code block of a markdown file, as the book uses them: fences
/// at the start of a line, three or more backticks.
#[derive(Debug)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    pub info: String,
    pub body: String,
}

impl Block {
    /// The info string's tokens, split the way rustdoc and skeptic do.
    pub fn tokens(&self) -> Vec<&str> {
        self.info
            .split(|c: char| !(c == '_' || c == '-' || c.is_alphanumeric()))
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn is_rust(&self) -> bool {
        self.tokens().first() == Some(&"rust")
    }
}

/// The fenced blocks of a markdown text.
pub fn blocks(text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String, usize, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &mut open {
            None if ticks >= 3 => {
                open = Some((i + 1, line[ticks..].trim().into(), ticks, vec![]))
            }
            Some((_, _, n, _))
                if ticks >= *n && line.trim() == &line[..ticks] =>
            {
                let (l, info, _, body) = open.take().unwrap();
                let mut body = body.join("\n");
                body.push('\n');
                found.push(Block {
                    line: l,
                    info,
                    body,
                });
            }
            Some((_, _, _, body)) => body.push(line),
            None => {}
        }
    }
    found
}

/// The copy of an expanded chapter that skeptic reads. skeptic runs a
/// `compile_fail` block as an ordinary program (and so would report it as
/// a failure), so those blocks become plain text here; the `fail-*`
/// listings they come from are checked by the output tests, and rustdoc
/// checks them again through `mdbook test`.
pub fn for_skeptic(expanded: &str) -> String {
    let mut out = String::with_capacity(expanded.len());
    for line in expanded.split_inclusive('\n') {
        let ticks = line.len() - line.trim_start_matches('`').len();
        if ticks >= 3 {
            let info = line[ticks..].trim();
            let block = Block {
                line: 0,
                info: info.to_string(),
                body: String::new(),
            };
            if block.is_rust() && block.tokens().contains(&"compile_fail") {
                out.push_str(&line[..ticks]);
                out.push_str("text\n");
                continue;
            }
        }
        out.push_str(line);
    }
    out
}
