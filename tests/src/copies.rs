//! Code that listings copy from each other on purpose. A listing cannot
//! depend on another by path (it would not survive being copied out), so a
//! program that grows from one listing to the next carries copies of what
//! it keeps. Every such copy is declared where it sits, between two marker
//! comments that name its source:
//!
//! ```text
//! // COPY FROM listings/ch03-reactor/07-futures/src/main.rs
//! ...items...
//! // END COPY
//! ```
//!
//! and every item between them (a function, a type, a module, an `impl`...)
//! must be, as Rust, the same as an item of the source file: the same
//! tokens, so that ordinary comments, layout and anchor lines do not count
//! (doc comments do: they are attributes). The same tokens are not always
//! the same program, since names resolve through the file's `use` items;
//! the listings' own tests and builds check the rest.
//!
//! Where copies sit is a rule too (`layout`): after the listing's own
//! code, below a banner per source. They stay items of the crate's root,
//! not of an inline module: a module would make every copied item, field
//! and method that the listing's own code uses `pub(crate)`, and the copy
//! would no longer be its source's Rust.

use quote::ToTokens;
use std::path::{Path, PathBuf};

pub const BEGIN: &str = "// COPY FROM ";
pub const END: &str = "// END COPY";

/// One declared copy: where it sits, what it names as its source, and its
/// text.
#[derive(Debug)]
pub struct DeclaredCopy {
    /// 1-based line of the `COPY FROM` marker.
    pub line: usize,
    /// The source, relative to the repository's root.
    pub source: PathBuf,
    pub text: String,
}

/// The declared copies of a file, or what is wrong with their markers.
pub fn declared(text: &str) -> Result<Vec<DeclaredCopy>, String> {
    let mut copies = Vec::new();
    let mut open: Option<(usize, PathBuf, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(source) = trimmed.strip_prefix(BEGIN) {
            if let Some((at, ..)) = open {
                return Err(format!(
                    "line {}: copy of line {at} not ended",
                    i + 1
                ));
            }
            open = Some((i + 1, PathBuf::from(source.trim()), Vec::new()));
        } else if trimmed == END {
            let (line, source, body) = open.take().ok_or_else(|| {
                format!("line {}: END COPY without a copy", i + 1)
            })?;
            copies.push(DeclaredCopy {
                line,
                source,
                text: body.join("\n"),
            });
        } else if let Some((_, _, body)) = &mut open {
            body.push(line);
        }
    }
    match open {
        Some((at, ..)) => Err(format!("line {at}: copy never ended")),
        None => Ok(copies),
    }
}

/// The items of some Rust text: each one's name, token string and first
/// line.
pub fn items(text: &str) -> Result<Vec<(String, String, usize)>, String> {
    use syn::spanned::Spanned;
    let file = syn::parse_file(text).map_err(|e| e.to_string())?;
    let item = |i: &syn::Item| (name(i), tokens(i), i.span().start().line);
    Ok(file.items.iter().map(item).collect())
}

fn tokens(item: &syn::Item) -> String {
    item.to_token_stream().to_string()
}

/// A short name for an item, for messages.
pub fn name(item: &syn::Item) -> String {
    use syn::Item::*;
    match item {
        Fn(f) => f.sig.ident.to_string(),
        Struct(s) => s.ident.to_string(),
        Enum(e) => e.ident.to_string(),
        Trait(t) => t.ident.to_string(),
        Mod(m) => m.ident.to_string(),
        Const(c) => c.ident.to_string(),
        Static(s) => s.ident.to_string(),
        Type(t) => t.ident.to_string(),
        Impl(i) => {
            let ty = i.self_ty.to_token_stream().to_string();
            match &i.trait_ {
                Some((_, path, _)) => {
                    format!("impl {} for {ty}", path.to_token_stream())
                }
                None => format!("impl {ty}"),
            }
        }
        Use(u) => format!("use {}", u.tree.to_token_stream()),
        Macro(m) => format!("{}!", m.mac.path.to_token_stream()),
        _ => "an item".into(),
    }
}

/// What is wrong with one declared copy, checked against its source under
/// `root`: each item of the copy must be an item of the source.
pub fn check(root: &Path, copy: &DeclaredCopy) -> Vec<String> {
    let source = match std::fs::read_to_string(root.join(&copy.source)) {
        Ok(s) => s,
        Err(e) => return vec![format!("{}: {e}", copy.source.display())],
    };
    let source_items = match items(&source) {
        Ok(i) => i,
        Err(e) => return vec![format!("{}: {e}", copy.source.display())],
    };
    let copied = match items(&copy.text) {
        Ok(i) if !i.is_empty() => i,
        Ok(_) => return vec!["the copy holds no item".into()],
        Err(e) => return vec![format!("the copy is not whole items: {e}")],
    };
    copied
        .into_iter()
        .filter(|(_, t, _)| !source_items.iter().any(|(_, s, _)| s == t))
        .map(|(n, _, line)| {
            // The marker is the line before the copy's first line.
            let at = copy.line + line;
            let found = source_items.iter().any(|(s, _, _)| *s == n);
            if found {
                format!("line {at}: `{n}` differs from the source's")
            } else {
                format!("line {at}: `{n}` is not in the source")
            }
        })
        .collect()
}

/// The first words of the banner above each source's copies.
pub const BANNER: &str = "// Below: code copied unchanged from";

/// What is wrong with where a file's copies sit. A reader who opens a
/// listing finds its own code first: every copied item comes after every
/// item of the listing's own, and the listing's `#[cfg(test)]` module, if
/// any, comes last. Each copy is of whole top-level items (markers at the
/// start of a line, nothing but comments and blank lines just above a
/// `COPY FROM`, so that no attribute of the listing's own attaches to a
/// copied item), and the copies from one source sit together, below a
/// banner that names it and above the next banner.
pub fn layout(text: &str) -> Vec<String> {
    use syn::spanned::Spanned;
    let Ok(copies) = declared(text) else {
        return Vec::new(); // `declared`'s own error is reported elsewhere.
    };
    let Ok(file) = syn::parse_file(text) else {
        return vec!["the file does not parse".into()];
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let marker = line.trim_start();
        if (marker.starts_with(BEGIN) || marker == END) && line != &marker {
            problems.push(format!(
                "line {}: a copy marker inside an item: copies are of \
                 whole top-level items",
                i + 1
            ));
        }
    }
    for copy in &copies {
        let above = lines[..copy.line - 1]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty());
        if let Some(l) = above
            && !l.trim_start().starts_with("//")
        {
            problems.push(format!(
                "line {}: `{}` just above a copy would attach to its first \
                 item",
                copy.line,
                l.trim()
            ));
        }
    }
    let regions: Vec<(usize, usize)> = copies
        .iter()
        .map(|c| (c.line, c.line + c.text.lines().count() + 1))
        .collect();
    let copied = |line: usize| regions.iter().any(|r| r.0 < line && line < r.1);
    let is_tests = |item: &syn::Item| {
        matches!(item, syn::Item::Mod(m) if m.attrs.iter().any(|a| {
            a.path().is_ident("cfg")
                && a.to_token_stream().to_string().contains("test")
        }))
    };
    let mut first_copy = None;
    let last = file.items.len().saturating_sub(1);
    for (i, item) in file.items.iter().enumerate() {
        let line = item.span().start().line;
        if is_tests(item) && i != last {
            problems.push(format!(
                "line {line}: the tests module must be the last item"
            ));
        } else if copied(line) {
            first_copy.get_or_insert(line);
        } else if let Some(at) = first_copy
            && !is_tests(item)
        {
            problems.push(format!(
                "line {line}: `{}`, the listing's own, comes after code \
                 copied at line {at}: own code first, copies below",
                name(item)
            ));
        }
    }
    // Each copy sits below the nearest banner above it, which must name
    // its source; a source's copies are contiguous.
    let mut done: Vec<&PathBuf> = Vec::new();
    let mut current: Option<&PathBuf> = None;
    for copy in &copies {
        let source = copy.source.display().to_string();
        let banner = lines[..copy.line - 1]
            .iter()
            .rposition(|l| l.starts_with(BANNER));
        let named = banner.is_some_and(|b| {
            let block = lines[b..copy.line - 1]
                .iter()
                .take_while(|l| l.starts_with("//"));
            block.into_iter().any(|l| l.contains(&source))
        });
        if !named {
            problems.push(format!(
                "line {}: the nearest banner above this copy (`{BANNER} \
                 ...`) does not name {source}",
                copy.line
            ));
        }
        if current != Some(&copy.source) {
            if done.contains(&&copy.source) {
                problems.push(format!(
                    "line {}: copies from {source} are split: keep them \
                     together below one banner",
                    copy.line
                ));
            }
            done.push(&copy.source);
            current = Some(&copy.source);
        }
    }
    problems
}
