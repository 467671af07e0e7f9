//! Every benchmark, one module each. A new benchmark is a new module here
//! that defines `pub const BENCH: Bench`, and its name in the list below.

use crate::bench::Bench;

/// Declares each benchmark's module and lists its `BENCH`, in the order
/// `cargo measure` runs them.
macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every benchmark, in the order `cargo measure` runs them.
        pub const ALL: &[&Bench] = &[$(&$module::BENCH),*];
    };
}

registry![
    spawn,
    handoff,
    handoff_parking,
    memory,
    thread_limit,
    latency,
    contention,
    echo,
    syscalls,
    scraper,
    scraper_timeline,
];
