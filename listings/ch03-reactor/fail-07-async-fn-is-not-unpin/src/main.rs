use std::future::Future;
use std::pin::Pin;

async fn first_article(planet: String) -> Result<String, String> {
    Ok(planet)
}

// ANCHOR: here
/// Takes a future out of its `Pin`, as our `FirstArticle::poll` does: only
/// a type that is `Unpin` allows it.
fn unpinned<F: Future + Unpin>(future: Pin<&mut F>) -> &mut F {
    future.get_mut()
}

fn main() {
    let mut by_compiler = first_article("/planet".into());
    unpinned(Pin::new(&mut by_compiler));
}
// ANCHOR_END: here
