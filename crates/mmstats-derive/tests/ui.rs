//! Compile-time behaviour of `#[derive(StatsModel)]`: inputs that must compile, and inputs that must
//! fail with the messages and spans in the `.stderr` snapshots.

#[test]
fn rejected_models_fail_with_clear_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn accepted_models_compile_and_run() {
    trybuild::TestCases::new().pass("tests/ui/pass/*.rs");
}
