//! `cargo xtask props [--cases N]`: the property tests alone, with a long budget.
//!
//! Every property test is a function named `prop_…` (proptest's default config, which reads
//! `PROPTEST_CASES`), so `cargo test -- prop_` selects them all. `cargo xtask ci` runs them
//! among the other tests with the short budget, [`CI_CASES`].

use crate::cargo_cmd;

/// Cases per property for `cargo xtask props`, unless `--cases` says otherwise.
const DEFAULT_CASES: u32 = 4096;

/// Cases per property in `cargo xtask ci`'s test step.
pub(crate) const CI_CASES: &str = "64";

/// Runs every property test of the workspace (dev profile) with `cases` (the text of
/// `--cases`, if given) cases each.
pub(crate) fn run(cases: Option<&str>) -> Result<(), String> {
    let cases =
        match cases {
            None => DEFAULT_CASES,
            Some(text) => text.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("--cases takes a number of cases (1 or more), not {text:?}")
            })?,
        };
    eprintln!("props: every `prop_…` test, {cases} cases each");
    // Unit and integration tests (`--tests`): doctests hold no property tests, and would be
    // compiled for nothing.
    cargo_cmd(
        &["test", "--workspace", "--tests", "--locked", "--", "prop_"],
        &[("PROPTEST_CASES", &cases.to_string())],
    )
}
