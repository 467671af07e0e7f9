//! Code that listings copy from each other on purpose, declared where it
//! sits (`// COPY FROM <source>` ... `// END COPY`, see
//! `book_tests::copies`) and checked here as Rust, item by item.

use book_tests::copies::{self, BEGIN, END};
use book_tests::{layout, root};
use quote::ToTokens;
use std::fs;
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;

/// Every Rust file of every listing, in the listings' order, with its text.
fn listing_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in layout::listing_dirs(&root().join("listings")) {
        for file in layout::rust_files(&dir.join("src")) {
            let text = fs::read_to_string(&file).unwrap();
            files.push((file.strip_prefix(root()).unwrap().to_owned(), text));
        }
    }
    files
}

/// A copy's source is a listing that comes before it (listing folders in
/// path order: numbered ones, then `exercise-*`, `fail-*`, `no-listing-*`
/// and `solution-*`, chapter by chapter), or, for an exercise, any
/// listing that is not an exercise. A file that named itself, or a later
/// listing, would be checked against nothing or against its own copy.
fn earlier(files: &[(PathBuf, String)], i: usize, source: &Path) -> bool {
    let exists =
        |range: &[(PathBuf, String)]| range.iter().any(|(f, _)| f == source);
    listing_dir(&files[i].0) != listing_dir(source)
        && (exists(&files[..i])
            // An exercise may build on any listing of the book that is not
            // an exercise itself, wherever it sorts.
            || (is_exercise(&files[i].0)
                && !is_exercise(source)
                && exists(files)))
}

/// Whether a file is in an `exercise-*` or `solution-*` folder.
fn is_exercise(file: &Path) -> bool {
    let folder = listing_dir(file);
    let name = folder.file_name().unwrap().to_string_lossy();
    name.starts_with("exercise-") || name.starts_with("solution-")
}

/// Whether `file` is in the solution of the exercise that `other` is in.
fn is_solution_of(file: &Path, other: &Path) -> bool {
    let folder = |f: &Path| {
        listing_dir(f)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let (mine, theirs) = (folder(file), folder(other));
    listing_dir(file).parent() == listing_dir(other).parent()
        && mine
            .strip_prefix("solution-")
            .is_some_and(|m| theirs.strip_prefix("exercise-") == Some(m))
}

/// `listings/chNN-topic/<folder>` of a listing file.
fn listing_dir(file: &Path) -> PathBuf {
    file.iter().take(3).collect()
}

#[test]
fn every_declared_copy_is_its_source() {
    let files = listing_files();
    let mut copies = 0;
    let mut wrong = Vec::new();
    for (i, (file, text)) in files.iter().enumerate() {
        let declared = copies::declared(text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = shown(text);
        for copy in declared {
            let at = format!("{}:{}", file.display(), copy.line);
            if !earlier(&files, i, &copy.source) {
                wrong.push(format!(
                    "{at}: {} is not an earlier listing",
                    copy.source.display()
                ));
                continue;
            }
            let end = copy.line + copy.text.lines().count() + 1;
            let inside = |l: usize| shown.iter().any(|r| r.0 < l && l < r.1);
            if inside(copy.line) || inside(end) {
                wrong.push(format!(
                    "{at}: a copy marker inside an anchor the book shows"
                ));
            }
            for problem in copies::check(&root(), &copy) {
                wrong.push(format!(
                    "{} (from {}): {problem}",
                    file.display(),
                    copy.source.display()
                ));
            }
            copies += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "copies that drifted:\n{}",
        wrong.join("\n")
    );
    // The planet server in four scrapers, chapter 3's reactor as it grows,
    // and the rest: far more than this.
    assert!(copies >= 40, "only {copies} declared copies found");
}

/// A listing's own code comes first; its copies sit below, under a banner
/// naming their source; its tests come last.
#[test]
fn copies_come_after_the_listings_own_code() {
    let mut wrong = Vec::new();
    let mut files = 0;
    for (file, text) in listing_files() {
        if !text.contains(BEGIN) {
            continue;
        }
        files += 1;
        for problem in copies::layout(&text) {
            wrong.push(format!("{}: {problem}", file.display()));
        }
    }
    assert!(files > 0, "no listing holds a copy");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The layout rule fails on each way of breaking it: own code among the
/// copies, a source with no banner, a copy under another source's banner,
/// a source's copies split, an attribute above a marker, a marker inside
/// an item, tests not last.
#[test]
fn a_copy_out_of_place_is_caught() {
    let banner = |src: &str| {
        format!(
            "// -----\n// Below: code copied unchanged from Listing 1-1\n\
             // ({src}), so that...\n// -----\n\n"
        )
    };
    let copy = |src: &str, item: &str| {
        format!("// COPY FROM {src}\n{item}\n// END COPY\n\n")
    };
    let (a, b) = ("listings/a/src/main.rs", "listings/b/src/main.rs");
    let tests = "#[cfg(test)]\nmod tests {}\n";
    let good = format!(
        "fn own() {{}}\n\n{}{}{}{}{}{tests}",
        banner(a),
        copy(a, "fn a1() {}"),
        copy(a, "fn a2() {}"),
        banner(b),
        copy(b, "fn b1() {}"),
    );
    assert_eq!(copies::layout(&good), Vec::<String>::new());
    let cases = [
        (good.replace("#[cfg(test)]", "fn late() {}\n#[cfg(test)]"), "`late`"),
        (good.replace("// Below: code copied", "// Copied"), "banner"),
        (good.replace(&banner(b), ""), "does not name listings/b"),
        (
            format!("{good}{}", copy(a, "fn a3() {}")).replace(tests, "")
                + tests,
            "split",
        ),
        (
            good.replace(
                &format!("// COPY FROM {b}"),
                &format!("#[allow(dead_code)]\n// COPY FROM {b}"),
            ),
            "attach",
        ),
        (
            good.replace(
                "fn own() {}",
                &format!("mod own {{\n    // COPY FROM {a}\n    fn a1() {{}}\n    // END COPY\n}}"),
            ),
            "inside an item",
        ),
        (format!("{tests}{good}"), "tests module"),
    ];
    for (text, expected) in cases {
        let problems = copies::layout(&text);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem with `{expected}` in:\n{text}\ngot \
             {problems:?}"
        );
    }
}

#[test]
fn a_copy_names_an_earlier_listing() {
    let file = |f: &str| (PathBuf::from(f), String::new());
    let files = [
        file("listings/ch04-scraper/01-planet-server/src/main.rs"),
        file("listings/ch04-scraper/02-sequential/src/main.rs"),
        file("listings/ch04-scraper/02-sequential/src/other.rs"),
    ];
    let first = Path::new("listings/ch04-scraper/01-planet-server/src/main.rs");
    let second = Path::new("listings/ch04-scraper/02-sequential/src/main.rs");
    assert!(earlier(&files, 1, first));
    assert!(!earlier(&files, 1, second), "itself");
    assert!(!earlier(&files, 0, second), "a later listing");
    assert!(!earlier(&files, 2, second), "its own listing");
}

/// Every scraper of chapter 4 holds the planet server as a declared copy,
/// so that a copy cannot leave the check by losing its markers.
#[test]
fn every_planet_server_is_a_declared_copy() {
    let mut servers = 0;
    for (file, text) in listing_files() {
        let Some(at) =
            text.lines().position(|l| l == "pub mod planet_server {")
        else {
            continue;
        };
        servers += 1;
        if file.starts_with("listings/ch04-scraper/01-planet-server") {
            continue; // The original.
        }
        let declared = declared_lines(&text);
        assert!(
            declared.iter().any(|r| r.0 < at + 1 && at + 1 < r.1),
            "{}: its planet server is not a declared copy",
            file.display()
        );
    }
    assert_eq!(servers, 5, "the original and four scrapers");
}

/// Items this long or longer (as tokens) that two listings share must be
/// declared copies; shorter ones (`fn main() {}`, a one-line type) may
/// coincide.
const SHARED: usize = 80;

/// Lines `[from, to]` that the book shows (between anchor markers): a
/// copy there is not declared, since the markers would be printed in the
/// book.
fn shown(text: &str) -> Vec<(usize, usize)> {
    let mut open: Vec<(String, usize)> = Vec::new();
    let mut regions = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if let Some(name) = line.strip_prefix("// ANCHOR_END: ") {
            if let Some(at) = open.iter().position(|(n, _)| n == name.trim()) {
                regions.push((open.remove(at).1, i + 1));
            }
        } else if let Some(name) = line.strip_prefix("// ANCHOR: ") {
            open.push((name.trim().to_string(), i + 1));
        }
    }
    regions
}

/// Lines `[from, to]` of the declared copies of a text.
fn declared_lines(text: &str) -> Vec<(usize, usize)> {
    let mut regions = Vec::new();
    let mut from = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with(BEGIN) {
            from = Some(i + 1);
        } else if line == END {
            regions.extend(from.take().map(|f| (f, i + 1)));
        }
    }
    regions
}

#[test]
fn no_listing_copies_another_without_saying_so() {
    let files = listing_files();
    // Each file's own items: not those it declares copied from elsewhere,
    // so that two copies of one source are not taken for copies of each
    // other.
    let parsed: Vec<Vec<String>> = files
        .iter()
        .map(|(_, text)| match syn::parse_file(text) {
            Ok(f) => {
                let declared = declared_lines(text);
                f.items
                    .iter()
                    .filter(|i| {
                        let line = i.span().start().line;
                        !declared.iter().any(|r| r.0 < line && line < r.1)
                    })
                    .map(|i| i.to_token_stream().to_string())
                    .collect()
            }
            Err(_) => Vec::new(), // a `fail-*` listing that does not parse
        })
        .collect();
    let mut undeclared = Vec::new();
    for (i, (file, text)) in files.iter().enumerate() {
        let Ok(parsed_file) = syn::parse_file(text) else {
            continue;
        };
        let declared = declared_lines(text);
        let shown = shown(text);
        for item in &parsed_file.items {
            let tokens = item.to_token_stream().to_string();
            if tokens.len() < SHARED {
                continue;
            }
            let Some(source) = (0..i).find(|&j| parsed[j].contains(&tokens))
            else {
                continue;
            };
            // A solution is its exercise's starter, filled in.
            if is_solution_of(&files[i].0, &files[source].0) {
                continue;
            }
            let (from, to) = (item.span().start().line, item.span().end().line);
            let within = |r: &(usize, usize)| r.0 < from && to < r.1;
            if declared.iter().any(within) || shown.iter().any(within) {
                continue;
            }
            undeclared.push(format!(
                "{}:{from}: `{}` is a copy of {}'s",
                file.display(),
                copies::name(item),
                files[source].0.display()
            ));
        }
    }
    assert!(
        undeclared.is_empty(),
        "copies not declared with `{BEGIN}<source>` ... `{END}`:\n{}",
        undeclared.join("\n")
    );
}

#[test]
fn a_copy_that_drifts_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.rs"), "fn f() -> u8 {\n    1\n}\n").unwrap();
    let copy = |body: &str| format!("{BEGIN}a.rs\n{body}{END}\n");
    let same = copies::declared(&copy("// a comment\nfn f() -> u8 { 1 }\n"));
    assert!(copies::check(dir.path(), &same.unwrap()[0]).is_empty());
    let drifted = copies::declared(&copy("fn f() -> u8 {\n    2\n}\n"));
    let problems = copies::check(dir.path(), &drifted.unwrap()[0]);
    assert_eq!(problems, ["line 2: `f` differs from the source's"]);
    let unknown = copies::declared(&copy("fn g() {}\n"));
    let problems = copies::check(dir.path(), &unknown.unwrap()[0]);
    assert_eq!(problems, ["line 2: `g` is not in the source"]);
    assert!(copies::declared(&format!("{BEGIN}a.rs\nfn f() {{}}\n")).is_err());
    assert!(copies::declared(&format!("fn f() {{}}\n{END}\n")).is_err());
}
