//! Compile-time behaviour of `#[derive(Stats)]`: inputs that must compile, and inputs that must
//! fail with the messages and spans in the `.stderr` snapshots.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
