use std::future::Future;
use std::pin::{Pin, pin};

// ANCHOR: here
/// Nothing in it borrows anything: still not `Unpin`.
async fn first_article(planet: String) -> Result<String, String> {
    Ok(planet)
}

/// Takes a future out of its `Pin`, as our `FirstArticle::poll` does: only
/// a type that is `Unpin` allows it.
fn unpinned<F: Future + Unpin>(future: Pin<&mut F>) -> &mut F {
    future.get_mut()
}

fn main() {
    let by_compiler = pin!(first_article("/planet".into()));
    unpinned(by_compiler);
}
// ANCHOR_END: here
