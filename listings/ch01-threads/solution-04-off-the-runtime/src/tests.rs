use super::*;

fn tasks_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn sums_the_bytes() {
    let rt = tasks_thread();
    let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(rt.block_on(checksum_elsewhere(data)).0, expected);
    assert_eq!(rt.block_on(checksum_elsewhere(Vec::new())).0, 0);
}

#[test]
fn computes_on_another_thread_than_the_tasks() {
    let rt = tasks_thread();
    let (_, computed_on) = rt.block_on(checksum_elsewhere(vec![7; 100]));
    assert_ne!(
        computed_on,
        thread::current().id(),
        "the sum ran on the thread that runs the tasks"
    );
}
