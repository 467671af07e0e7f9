//! The rendered book in a headless Chromium (`book_tests::browser` says
//! what is checked). This test has its own `main` so that it can say, in
//! any case and outside libtest's capture, whether it ran:
//!
//! - with a Chromium found, it first checks a scratch book with a fault
//!   of each kind planted in it, and fails unless every planted fault is
//!   reported and nothing else is; then it checks the book;
//! - with none found, it prints that it did not run and why, and passes,
//!   unless `BOOK_REQUIRE_BROWSER` is set to anything but `0` or nothing
//!   (`.ci/run` sets it), when it fails.
//!
//! Screenshots of every page at both widths, and `print.pdf`, are left in
//! `target/browser/screenshots/`.

use book_tests::browser::{Report, Site, check, find_chrome};
use book_tests::{root, target_dir};
use mdbook_driver::MDBook;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const NAME: &str = "browser";

/// Whether libtest's arguments, as `cargo test` passes them on, select
/// this test: no name filter, or one that matches `browser`, and no
/// `--skip` that does. `--list` lists it (unless only ignored tests are
/// asked for: it is not one) and `--help` says what it accepts; both then
/// exit.
fn selected() -> bool {
    let mut args = std::env::args().skip(1);
    let mut filters = Vec::new();
    let mut skips = Vec::new();
    let (mut exact, mut ignored, mut list) = (false, false, false);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => {
                (n.to_string(), Some(v.to_string()))
            }
            _ => (arg.clone(), None),
        };
        match name.as_str() {
            "--help" | "-h" => {
                println!(
                    "The browser test ({NAME}). Accepts libtest's name \
                     filters, --exact, --skip, --list and --ignored; other \
                     options are ignored."
                );
                std::process::exit(0);
            }
            "--list" => list = true,
            "--exact" => exact = true,
            "--ignored" => ignored = true,
            // Options that take a value, as `--opt value` or `--opt=value`.
            "--skip" | "--test-threads" | "--color" | "--format"
            | "--logfile" | "--shuffle-seed" | "-Z" => {
                let value = inline.or_else(|| args.next()).unwrap_or_default();
                if name == "--skip" {
                    skips.push(value);
                }
            }
            a if a.starts_with('-') => {}
            _ => filters.push(arg),
        }
    }
    let matches = |f: &String| {
        if exact {
            f == NAME
        } else {
            NAME.contains(f.as_str())
        }
    };
    let chosen = !ignored
        && (filters.is_empty() || filters.iter().any(matches))
        && !skips.iter().any(matches);
    if list {
        if chosen {
            println!("{NAME}: test");
        }
        std::process::exit(0);
    }
    chosen
}

fn main() -> ExitCode {
    if !selected() {
        return ExitCode::SUCCESS;
    }
    let required = std::env::var_os("BOOK_REQUIRE_BROWSER")
        .is_some_and(|v| !v.is_empty() && v != "0");
    let chrome = match find_chrome() {
        Ok(path) => path,
        Err(why) => {
            let what = if required { "FAILED" } else { "NOT RUN" };
            eprintln!(
                "\nbrowser test {what}: no Chromium found ({why}).\n\
                 Install Chromium, Chrome or Edge (Debian: `apt install \
                 chromium`; macOS: Chrome or Chromium in /Applications) or \
                 set CHROME to its path, then run `cargo test --test \
                 browser`.\n"
            );
            return if required {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let started = Instant::now();
    println!("\nbrowser test: {}", chrome.display());

    let mut ok = planted_faults_are_reported(&chrome);

    let out = target_dir().join("browser");
    let dir = out.join("book");
    let shots = out.join("screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&shots);
    if let Err(e) = build(root(), &dir, None) {
        eprintln!("browser test FAILED: the book does not build: {e}");
        return ExitCode::FAILURE;
    }
    let report = check(
        &chrome,
        &Site {
            dir: &dir,
            search: &["Waker", "call_later", "Deferred"],
            shots: Some(&shots),
        },
    );
    for note in &report.notes {
        println!("  {note}");
    }
    if report.problems.is_empty() {
        println!("  screenshots and print.pdf: {}", shots.display());
    } else {
        ok = false;
        eprintln!("\nbrowser test: what a reader of the book would run into:");
        for p in &report.problems {
            eprintln!("  - {p}");
        }
    }
    println!(
        "browser test {} in {:.0?}\n",
        if ok { "passed" } else { "FAILED" },
        started.elapsed()
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Builds the book at `from` into `to`, with `css` added to its style if
/// given.
fn build(
    from: impl AsRef<Path>,
    to: &Path,
    css: Option<&str>,
) -> Result<(), String> {
    let mut book = MDBook::load(from.as_ref()).map_err(|e| format!("{e:#}"))?;
    book.config.build.build_dir = to.to_path_buf();
    if let Some(css) = css {
        book.config
            .set("output.html.additional-css", vec![css])
            .map_err(|e| format!("{e:#}"))?;
    }
    book.build().map_err(|e| format!("{e:#}"))
}

/// Whether a line of the report is the one a planted fault should cause.
type Reported = fn(&str) -> bool;

/// The check, on a scratch book with faults planted in it: a table too
/// wide for 1280 px, a box too wide for a phone, a box that cuts its text
/// off, a missing image, an image from the network, a broken link, a
/// pale caption, a pale link, an error logged by a script, an uncaught
/// exception and a search term that is nowhere. Each must be reported,
/// and nothing else: the clean page, its compile_fail block, its
/// 80-column code (which may scroll on the phone) and the search that
/// does find something pass.
fn planted_faults_are_reported(chrome: &Path) -> bool {
    // Under the target directory rather than the system's temporary one,
    // which a browser confined as a snap does not share (whether a snap
    // sees the target directory depends on where it is; this test has not
    // been run with one).
    let scratch = target_dir().join("browser");
    let tmp = std::fs::create_dir_all(&scratch).and_then(|()| {
        tempfile::Builder::new()
            .prefix("scratch-")
            .tempdir_in(&scratch)
    });
    let tmp = match tmp {
        Ok(t) => t,
        Err(e) => {
            eprintln!("browser self-test FAILED: no scratch folder: {e}");
            return false;
        }
    };
    let src = tmp.path();
    let write = |rel: &str, text: &str| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    // As the book's own book.toml: no runnable playground, whose buttons
    // would ask play.rust-lang.org what crates it has.
    write(
        "book.toml",
        "[book]\ntitle = \"Scratch\"\n[output.html.playground]\nrunnable = false\n",
    );
    write(
        "src/SUMMARY.md",
        "[Clean](clean.md)\n- [Faults](faults.md)\n- [Phone](phone.md)\n",
    );
    let wide_code =
        format!("fn main() {{\n    let _ = \"{}\";\n}}", "x".repeat(65));
    write(
        "src/clean.md",
        &format!(
            "# Clean\n\nFerris lives here, with `inline code`.\n\n<span class=\"filename\">Filename: \
             src/main.rs</span>\n\n```rust\n{wide_code}\n```\n\n<span \
             class=\"caption\">Listing 1: A caption</span>\n\n\
             ```rust,compile_fail\nfn main() {{ let x: u8 = \"no\"; }}\n```\n"
        ),
    );
    let columns = 30;
    let row =
        |cell: &str| format!("|{}\n", format!(" {cell} |").repeat(columns));
    write(
        "src/faults.md",
        &format!(
            "# Faults\n\n{}{}{}\n\
             <img src=\"img/missing.png\" alt=\"a missing image\">\n\n\
             <img src=\"https://example.com/remote.png\" alt=\"a remote image\">\n\n\
             A [broken link](nowhere.md).\n\n\
             <span class=\"caption\" style=\"color: #f2f2f2\">A pale caption</span>\n\n\
             Some text with <a href=\"clean.html\" style=\"color: #f4f4f4\">a pale \
             link</a>.\n\n\
             <div style=\"overflow: hidden; width: 200px; white-space: nowrap\">\
             A line far too long for its box of two hundred pixels</div>\n\n\
             <script>console.error(\"a planted error\")</script>\n\n\
             <script>null.planted</script>\n",
            row("heading"),
            row("---"),
            row("a-long-cell")
        ),
    );
    write(
        "src/phone.md",
        "# Phone\n\n<div style=\"width: 600px\">A box 600 px wide.</div>\n",
    );
    let out = src.join("out");
    let css = root().join("theme/listings.css");
    write("theme/listings.css", &std::fs::read_to_string(css).unwrap());
    if let Err(e) = build(src, &out, Some("theme/listings.css")) {
        eprintln!("browser test FAILED: the scratch book does not build: {e}");
        return false;
    }
    let Report { problems, .. } = check(
        chrome,
        &Site {
            dir: &out,
            search: &["Ferris", "zyzzyva"],
            shots: None,
        },
    );
    // Each planted fault, as the report words it.
    let planted: [(&str, Reported); 13] = [
        ("a table too wide for 1280 px", |p| {
            p.starts_with("faults.html at 1280 px: overflow")
                && p.contains("table-wrapper")
        }),
        ("a box too wide for a phone", |p| {
            p.starts_with("phone.html at 390 px: overflow")
                && p.contains("600 px wide")
        }),
        ("a missing image", |p| p.contains("img/missing.png")),
        ("an image from the network", |p| {
            p.contains("the image https://example.com/remote.png did not load")
        }),
        ("its request, seen leaving the machine", |p| {
            p.contains("asks the network for https://example.com/remote.png")
        }),
        (
            "its host name, not resolved (the test's own flag at work)",
            |p| {
                p.contains("ERR_NAME_NOT_RESOLVED")
                    && p.contains("https://example.com/remote.png")
            },
        ),
        ("a broken link", |p| {
            p.starts_with("link:") && p.contains("nowhere")
        }),
        ("a pale caption", |p| {
            p.contains("caption contrast") && p.contains("A pale caption")
        }),
        ("a box that cuts its text off", |p| {
            p.starts_with("faults.html at") && p.contains("cuts off")
        }),
        ("a pale link", |p| {
            p.contains("link contrast") && p.contains("a pale link")
        }),
        ("an error logged by a script", |p| {
            p.contains("a planted error")
        }),
        ("an uncaught exception", |p| {
            p.contains("uncaught exception") && p.contains("planted")
        }),
        ("a search that finds nothing", |p| {
            p == "search for `zyzzyva` finds nothing"
        }),
    ];
    let mut ok = true;
    for (fault, matches) in &planted {
        if !problems.iter().any(|p| matches(p)) {
            eprintln!("browser self-test FAILED: {fault} was not reported");
            ok = false;
        }
    }
    let others: Vec<&String> = problems
        .iter()
        .filter(|p| !planted.iter().any(|(_, m)| m(p)))
        .collect();
    if !others.is_empty() {
        ok = false;
        eprintln!("browser self-test FAILED: reported, but not planted:");
        for p in others {
            eprintln!("  - {p}");
        }
    }
    if ok {
        println!(
            "  self-test: each of the {} reports the planted faults call for \
             found ({} lines in all)",
            planted.len(),
            problems.len()
        );
    } else {
        eprintln!("  everything reported on the scratch book:");
        for p in &problems {
            eprintln!("  - {p}");
        }
    }
    ok
}
