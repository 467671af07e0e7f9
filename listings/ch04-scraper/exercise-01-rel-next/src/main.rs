//! Exercise 4-1: the link to a page's next page, as a scraper that goes
//! on to the second page of a planet would find it.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

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
    // Your code here: select `a[href], link[href]`, keep the first
    // whose `rel` has the word `next`, and join its `href` to the URL.
    todo!("the next page after {page_url}")
}
// ANCHOR_END: task

fn main() {
    let page = Url::parse("https://planet.example/blog/").unwrap();
    let html = r#"<a rel="next" href="page/2">Older</a>"#;
    println!("{:?}", next_page(html, &page).map(String::from));
}

#[cfg(test)]
mod tests;
