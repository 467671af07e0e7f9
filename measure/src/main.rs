use measure::{BENCHES, Mode, names, results, root};
use std::process::ExitCode;

const HELP: &str = "\
cargo measure [--full] [BENCH...]
    Runs the benchmarks (all of them unless named; quick mode unless
    --full), saves their raw results in measure/results/, then renders
    every table and figure under src/measurements/ and checks the ratio
    claims the chapters make.
cargo measure render
    Renders the tables and figures again from the saved results.
cargo measure check
    Fails if a table or figure is not what the saved results render to, or
    if a claim no longer holds.

Benchmarks: ";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => {
            println!("{HELP}{}", names().join(", "));
            ExitCode::SUCCESS
        }
        Some(command) if child(command).is_some() => {
            match (child(command).unwrap().run)(&args[1..]) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{command}: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("render") => finish(render_and_write(&root)),
        Some("check") => finish(measure::check(&root)),
        _ => {
            let full = args.iter().any(|a| a == "--full");
            let mode = if full { Mode::Full } else { Mode::Quick };
            let named: Vec<&str> = args
                .iter()
                .filter(|a| !a.starts_with("--"))
                .map(String::as_str)
                .collect();
            if let Some(bad) = named.iter().find(|n| measure::find(n).is_none())
            {
                eprintln!(
                    "unknown benchmark `{bad}`; known: {}",
                    names().join(", ")
                );
                return ExitCode::from(2);
            }
            if !cfg!(not(debug_assertions)) {
                eprintln!(
                    "measure: run it as `cargo measure`, a release build"
                );
                return ExitCode::from(2);
            }
            for bench in BENCHES
                .iter()
                .map(|b| b.name)
                .filter(|b| named.is_empty() || named.contains(b))
            {
                eprintln!("measure: running `{bench}` ({} mode)", mode.name());
                let Some(r) = (measure::find(bench).unwrap().run)(mode) else {
                    eprintln!(
                        "measure: `{bench}` did not run (see above); its saved results stay"
                    );
                    continue;
                };
                if let Err(e) = results::save(&root, &r) {
                    eprintln!("cannot save results of {bench}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            finish(render_and_write(&root))
        }
    }
}

/// The child-process subcommand called `command`, of whichever benchmark
/// has it.
fn child(command: &str) -> Option<&'static measure::bench::Child> {
    BENCHES
        .iter()
        .filter_map(|b| b.child.as_ref())
        .find(|c| c.command == command)
}

/// Renders every table and figure and writes them; the number written.
fn render_and_write(root: &std::path::Path) -> Result<usize, Vec<String>> {
    let files = measure::render_all(root)?;
    measure::write(root, &files).map_err(|e| vec![e.to_string()])?;
    Ok(files.len())
}

fn finish(r: Result<usize, Vec<String>>) -> ExitCode {
    match r {
        Ok(n) => {
            eprintln!("measure: {n} files are current");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in errors {
                eprintln!("measure: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
