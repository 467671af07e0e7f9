use super::*;

fn next(html: &str) -> Option<String> {
    let page = Url::parse("https://planet.example/blog/page/1").unwrap();
    next_page(html, &page).map(String::from)
}

#[test]
fn finds_a_link_or_an_anchor_whose_rel_says_next() {
    assert_eq!(
        next(r#"<a href="/about">About</a><a rel="next" href="2">Older</a>"#),
        Some("https://planet.example/blog/page/2".into())
    );
    assert_eq!(
        next(
            r#"<head><link rel="next" href="https://other.example/p2"></head>"#
        ),
        Some("https://other.example/p2".into())
    );
    assert_eq!(
        next(r#"<a rel="prev Next" href="/blog/page/2">2</a>"#),
        Some("https://planet.example/blog/page/2".into())
    );
}

#[test]
fn takes_the_first_in_document_order() {
    let html = r#"<a rel="next" href="a">A</a><link rel="next" href="b">"#;
    assert_eq!(
        next(html),
        Some("https://planet.example/blog/page/a".into())
    );
}

#[test]
fn ignores_other_rels_and_links_without_href() {
    assert_eq!(next(r#"<a rel="nofollow" href="/x">x</a>"#), None);
    assert_eq!(next(r#"<a rel="nextpage" href="/x">x</a>"#), None);
    assert_eq!(next(r#"<a rel="next">no href</a>"#), None);
    assert_eq!(next("<p>no links</p>"), None);
}
