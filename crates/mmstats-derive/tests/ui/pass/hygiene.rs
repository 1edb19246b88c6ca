//! Generated code must not depend on the prelude or on names the user's crate can shadow,
//! and must pass strict lints.
#![no_implicit_prelude]
#![forbid(unsafe_code)]
#![deny(warnings, missing_docs, unreachable_pub, missing_debug_implementations)]

#[allow(dead_code)]
mod std {}
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod mmstats {}
#[allow(dead_code)]
mod __private {}

#[allow(dead_code)]
type Result<T> = T;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct None;
#[allow(dead_code)]
enum Option {}
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
trait Default {}
#[allow(dead_code)]
trait From {}
#[allow(dead_code)]
struct Stats;
#[allow(dead_code)]
struct FieldDecl;
#[allow(dead_code)]
struct Reserve;
#[allow(dead_code)]
struct Error;
#[allow(dead_code)]
struct Handle;
#[allow(dead_code)]
struct LOCAL;
// Constants and unit structs named like the generated code's locals would turn those
// bindings into patterns, were the locals not hygienic.
#[allow(dead_code, non_upper_case_globals)]
const stats: u8 = 0;
#[allow(dead_code, non_upper_case_globals)]
const visitor: u8 = 0;
#[allow(dead_code, non_upper_case_globals)]
const room: u8 = 0;
#[allow(dead_code, non_camel_case_types)]
struct model;
#[allow(dead_code, non_camel_case_types)]
struct decl;
#[allow(dead_code, non_upper_case_globals)]
const __field0: u8 = 0;
#[allow(unused_macros)]
macro_rules! thread_local {
    ($($t:tt)*) => {};
}

#[derive(::mmstats::Stats)]
#[stats(prefix = "hygiene.")]
struct Shadowed {
    #[stat(combine = "sum", help = "counted")]
    hits: ::mmstats::Counter,
    #[stat(unit = "bytes")]
    size: ::mmstats::Gauge<u64>,
    #[stat(capacity = 16)]
    text: ::mmstats::Text,
    #[stat(skip)]
    other: u8,
}

fn main() {
    ::std::assert_eq!(<Shadowed as ::mmstats::StatsModel>::PREFIX, "hygiene.");
    ::std::assert_eq!(<Shadowed as ::mmstats::StatsModel>::NAME, "shadowed");
    let _ = Shadowed::create;
    let _ = Shadowed::local;
    fn fields(
        s: &Shadowed,
    ) -> (&::mmstats::Counter, &::mmstats::Gauge<u64>, &::mmstats::Text, u8) {
        (&s.hits, &s.size, &s.text, s.other)
    }
    let _ = fields;
}
