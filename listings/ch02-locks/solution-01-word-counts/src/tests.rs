use super::*;

fn one_thread(texts: &[&str]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in texts.iter().flat_map(|t| t.split_whitespace()) {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn counts_like_one_thread() {
    let texts: Vec<String> = (0..200)
        .map(|i| format!("w{} w{} shared  w{}\\ttail", i % 7, i % 13, i % 3))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let expected = one_thread(&texts);
    for threads in [0, 1, 2, 3, 8, 300] {
        assert_eq!(word_counts(&texts, threads), expected, "{threads} threads");
    }
    assert_eq!(word_counts(&texts, 4)["shared"], 200);
}

#[test]
fn no_texts_no_words() {
    assert!(word_counts(&[], 4).is_empty());
    assert!(word_counts(&["", "  "], 2).is_empty());
}
