//! `first_article` as an `async fn`, and as the state machine the
//! compiler makes of it, written by hand: both give the same results.

extern crate tokio; // `mdbook test` links crates by name

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The pages a server would send, by URL.
fn page_for(url: &str) -> Option<&'static str> {
    match url {
        "/planet" => Some(r#"<h3><a href="/post-1">First</a></h3>"#),
        "/empty-planet" => Some("<p>nothing yet</p>"),
        "/post-1" => Some("<title>Hello, planet</title>"),
        _ => None,
    }
}

/// A download: 20 ms, then the page or an error.
async fn get_page(url: String) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    page_for(&url)
        .map(String::from)
        .ok_or(format!("404 for {url}"))
}

/// Between `start` and `end`, the first time both occur in `text`.
fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some(text[from..to].to_string())
}

fn first_link(page: &str) -> Option<String> {
    between(page, "<h3><a href=\"", "\"")
}

fn title_of(page: &str) -> String {
    between(page, "<title>", "</title>").unwrap_or_default()
}

// ANCHOR: async
async fn first_article(planet: String) -> Result<String, String> {
    let page = get_page(planet).await?;
    let link = first_link(&page).ok_or("no article on the planet")?;
    let article = get_page(link).await?;
    Ok(title_of(&article))
}
// ANCHOR_END: async

// ANCHOR: machine
/// A download in progress: `get_page`'s future, which is not `Unpin`,
/// pinned in a box so that we can poll it and still move the box; the box
/// also gives it a type we can name.
type Download = Pin<Box<dyn Future<Output = Result<String, String>>>>;

/// `first_article`, by hand: one variant per place the function can be
/// suspended, holding the locals that are alive there, and one before
/// the start and one after the end.
enum FirstArticle {
    /// Created, not polled yet: nothing has run.
    Start { planet: String },
    /// Suspended at the first `.await`.
    Planet { download: Download },
    /// Suspended at the second `.await`. `page` is still in scope in
    /// `first_article` (it is dropped at its end), so it is kept here too.
    Article { _page: String, download: Download },
    /// Returned `Ready`.
    Done,
}

impl Future for FirstArticle {
    type Output = Result<String, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `FirstArticle` is `Unpin`, as its fields are (a `String`, a
        // `Pin<Box<_>>`): `Pin` lets us have it as a plain `&mut`.
        let this = self.get_mut();
        loop {
            match this {
                FirstArticle::Start { planet } => {
                    let planet = mem::take(planet);
                    let download = Box::pin(get_page(planet));
                    *this = FirstArticle::Planet { download };
                }
                FirstArticle::Planet { download } => {
                    let Poll::Ready(page) = download.as_mut().poll(cx) else {
                        return Poll::Pending; // `get_page` will wake us.
                    };
                    let page = match page {
                        Ok(page) => page,
                        Err(e) => {
                            *this = FirstArticle::Done;
                            return Poll::Ready(Err(e));
                        }
                    };
                    let Some(link) = first_link(&page) else {
                        *this = FirstArticle::Done;
                        return Poll::Ready(Err(
                            "no article on the planet".into()
                        ));
                    };
                    let download = Box::pin(get_page(link));
                    *this = FirstArticle::Article {
                        _page: page,
                        download,
                    };
                }
                FirstArticle::Article { download, .. } => {
                    let Poll::Ready(article) = download.as_mut().poll(cx)
                    else {
                        return Poll::Pending;
                    };
                    *this = FirstArticle::Done;
                    return Poll::Ready(article.map(|a| title_of(&a)));
                }
                FirstArticle::Done => panic!("polled after it returned Ready"),
            }
        }
    }
}

fn first_article_by_hand(planet: String) -> FirstArticle {
    FirstArticle::Start { planet }
}
// ANCHOR_END: machine

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    for planet in ["/planet", "/empty-planet", "/gone"] {
        let by_compiler = first_article(planet.into()).await;
        let by_hand = first_article_by_hand(planet.into()).await;
        assert_eq!(by_compiler, by_hand);
        println!("{planet}: {by_hand:?}, both ways");
    }
    let compiler = mem::size_of_val(&first_article(String::new()));
    let ours = mem::size_of_val(&first_article_by_hand(String::new()));
    assert!(compiler > ours, "the compiler's keeps its downloads inline");
    println!("the compiler's future: {compiler} bytes; ours: {ours} bytes");
}
// ANCHOR_END: main
