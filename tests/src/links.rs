//! Every link inside the rendered book resolves: each `href` and `src` of
//! a built HTML page (`<a>`, `<img>`, `<link>`, `<script>`, `<iframe>`)
//! that points inside the book names a file that exists (a folder, its
//! `index.html`), and each `#fragment` of a link to a page names an element
//! of that page (an `id`, or an `<a name>`; `#top` always does). A path
//! that starts with `/` is taken from the book's root. Links that leave
//! the book (a scheme such as `https:`) are not followed: nothing here
//! needs the network.

use scraper::{Html, Selector};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The HTML files below `dir`, relative to it, sorted.
pub fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "html") {
                found.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

/// `base/rel`, with `.` and `..` resolved, or `None` if it climbs out.
fn join(base: &Path, rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// What is wrong with the links of the book built in `dir`: one line per
/// broken link, naming the page and the link.
pub fn broken(dir: &Path) -> Vec<String> {
    let ids_of = |html: &Html| -> BTreeSet<String> {
        let named = Selector::parse("[id], a[name]").unwrap();
        html.select(&named)
            .flat_map(|e| {
                let v = e.value();
                [v.attr("id"), v.attr("name")].into_iter().flatten()
            })
            .map(str::to_string)
            .collect()
    };
    let pages = pages(dir);
    let mut parsed = BTreeMap::new();
    for page in &pages {
        let text = fs::read_to_string(dir.join(page)).unwrap();
        parsed.insert(page.clone(), Html::parse_document(&text));
    }
    let ids: BTreeMap<&PathBuf, BTreeSet<String>> =
        parsed.iter().map(|(p, h)| (p, ids_of(h))).collect();
    let linked = Selector::parse(
        "a[href], img[src], link[href], script[src], iframe[src]",
    )
    .unwrap();
    let mut problems = Vec::new();
    for (page, html) in &parsed {
        let here = page.parent().unwrap_or(Path::new(""));
        for element in html.select(&linked) {
            let v = element.value();
            let Some(link) = v.attr("href").or_else(|| v.attr("src")) else {
                continue;
            };
            // A scheme (`https:`, `mailto:`, `data:`...) leaves the book.
            let scheme = link.split_once(':').is_some_and(|(s, _)| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && !s.contains('/')
            });
            if scheme || link.starts_with("//") {
                continue;
            }
            let (path, fragment) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link, None),
            };
            let path = percent_decode(path.split('?').next().unwrap_or(""));
            let target = if path.is_empty() {
                Some(page.clone())
            } else if let Some(from_root) = path.strip_prefix('/') {
                join(Path::new(""), from_root)
            } else {
                join(here, &path)
            };
            let Some(target) = target else {
                problems.push(format!(
                    "{}: `{link}` leaves the book",
                    page.display()
                ));
                continue;
            };
            let target = if dir.join(&target).is_dir() {
                target.join("index.html")
            } else {
                target
            };
            if !dir.join(&target).is_file() {
                problems.push(format!(
                    "{}: `{link}`: no {}",
                    page.display(),
                    target.display()
                ));
                continue;
            }
            let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
                continue;
            };
            let decoded = percent_decode(fragment);
            match ids.get(&target) {
                Some(known)
                    if known.contains(fragment)
                        || known.contains(&decoded)
                        || decoded.eq_ignore_ascii_case("top") => {}
                Some(_) => problems.push(format!(
                    "{}: `{link}`: {} has no element `{decoded}`",
                    page.display(),
                    target.display()
                )),
                None => {} // Not a page: a fragment of an image, say.
            }
        }
    }
    problems
}

/// `%XX` escapes of a URL fragment, decoded (as UTF-8, lossily).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_missing_pages_missing_anchors_and_missing_images() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        write(
            "a.html",
            r##"<h2 id="here">x</h2><a href="b.html#there">ok</a>
               <a href="sub/c.html">ok</a><a href="#here">ok</a>
               <a href="https://example.com/x">out</a><img src="i.svg">
               <a href="b.html#nowhere">bad anchor</a>
               <a href="missing.html">bad page</a><img src="gone.svg">
               <a href="b.html#caf%C3%A9">ok, escaped</a>
               <a href="/sub/c.html#top">ok, from the root</a>
               <a href="sub/">ok, a folder</a><a href="my%20page.html">ok</a>
               <link href="style.css"><script src="gone.js"></script>"##,
        );
        write("b.html", r#"<p id="there"></p><p id="café"></p>"#);
        write("sub/c.html", r##"<a href="../a.html#here">ok</a>"##);
        write("i.svg", "<svg/>");
        write("sub/index.html", "");
        write("my page.html", "");
        write("style.css", "");
        let problems = broken(dir.path());
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("#nowhere"), "{problems:#?}");
        assert!(problems[1].contains("missing.html"), "{problems:#?}");
        assert!(problems[2].contains("gone.svg"), "{problems:#?}");
        assert!(problems[3].contains("gone.js"), "{problems:#?}");
    }
}
