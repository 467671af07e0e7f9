//! A solution to exercise 4-1.
//!
//! The exercise: the link to a page's next page, as a scraper that goes
//! on to the second page of a planet would find it.

extern crate scraper; // `mdbook test` links crates by name
extern crate url; // `mdbook test` links crates by name

use scraper::{Html, Selector};
use url::Url;

// ANCHOR: task
/// The URL of the page after `html`, downloaded from `page_url`: the
/// first `<a>` or `<link>`, in document order, whose `rel` holds the
/// word `next` (in any case: `rel="prev Next"` counts) and whose `href`
/// resolves against `page_url`. `None` if there is none.
pub fn next_page(html: &str, page_url: &Url) -> Option<Url> {
    let links = Selector::parse("a[href], link[href]").unwrap();
    Html::parse_document(html).select(&links).find_map(|link| {
        let rel = link.value().attr("rel")?;
        let next = rel
            .split_ascii_whitespace()
            .any(|w| w.eq_ignore_ascii_case("next"));
        if !next {
            return None;
        }
        page_url.join(link.value().attr("href")?).ok()
    })
}
// ANCHOR_END: task

fn main() {
    let page = Url::parse("https://planet.example/blog/").unwrap();
    let html = r#"<a rel="next" href="page/2">Older</a>"#;
    println!("{:?}", next_page(html, &page).map(String::from));
}

#[cfg(test)]
mod tests;
