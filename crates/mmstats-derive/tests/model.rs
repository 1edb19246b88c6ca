//! The declarations a derived model hands to its handle types, and the room it reserves,
//! observed through handle types defined here: the macro treats every handle alike, through
//! the `Handle` trait.

use std::cell::RefCell;

use mmstats::__private::Slot;
use mmstats::{Combine, Error, FieldDecl, FieldMeta, Handle, Kind, StatsModel, ValueType};
use mmstats_format::layout::align8;

thread_local! {
    /// Every declaration a probe was asked about on this thread, in order.
    static SEEN: RefCell<Vec<FieldDecl>> = const { RefCell::new(Vec::new()) };
}

fn seen() -> Vec<FieldDecl> {
    SEEN.with(|seen| seen.take())
}

/// A handle that records its declarations: a text field when given a capacity, else a gauge.
struct Probe;

impl Handle for Probe {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        SEEN.with(|seen| seen.borrow_mut().push(decl.clone()));
        let mut meta = match decl.capacity {
            Some(capacity) => {
                let mut meta = FieldMeta::new(decl.label.clone(), Kind::Text, ValueType::Text);
                meta.capacity = capacity;
                meta
            }
            None => FieldMeta::new(decl.label.clone(), Kind::Gauge, ValueType::U64),
        };
        meta.help = decl.help.clone();
        meta.unit = decl.unit.clone();
        Ok(meta)
    }
    fn bind(_slot: Slot) -> Self {
        Probe
    }
}

/// A handle that rejects every declaration.
struct Rejected;

impl Handle for Rejected {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        SEEN.with(|seen| seen.borrow_mut().push(decl.clone()));
        Err(Error::Exists("rejected".into()))
    }
    fn bind(_slot: Slot) -> Self {
        Rejected
    }
}

#[derive(mmstats::Stats)]
#[stats(prefix = "p.")]
#[allow(dead_code)]
struct Probed {
    /// Help from the doc comment,
    /// on two lines.
    a: Probe,
    #[stat(
        label = "b.label",
        help = "h",
        unit = "bytes",
        combine = "min",
        window = 10
    )]
    b: Probe,
    #[stat(capacity = 5, combine = "last")]
    c: Probe,
    #[stat(skip)]
    d: u32,
    e: Rejected,
}

#[test]
fn declarations_carry_every_option() {
    let _ = seen();
    let _ = Probed::reserve();
    let decls = seen();
    let got: Vec<_> = decls
        .iter()
        .map(|d| {
            (
                d.label.as_str(),
                d.help.as_str(),
                d.unit.as_str(),
                d.combine,
                d.capacity,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "a",
                "Help from the doc comment, on two lines.",
                "",
                None,
                None
            ),
            ("b.label", "h", "bytes", Some(Combine::Min), Some(10)),
            ("c", "", "", Some(Combine::Last), Some(5)),
            ("e", "", "", None, None),
        ]
    );
}

#[test]
fn reserve_sums_strings_and_value_slots() {
    let room = Probed::reserve();
    assert_eq!(room.fields, 4);
    let strings = align8("p.a".len())
        + align8("Help from the doc comment, on two lines.".len())
        + align8("p.b.label".len())
        + align8("h".len())
        + align8("bytes".len())
        + align8("p.c".len())
        + align8("p.e".len());
    assert_eq!(room.strings, strings);
    // a: one word; b: text of 10 bytes; c: text of 5 bytes; e: rejected, so no slot.
    assert_eq!(room.values, 8 + (16 + 16) + (16 + 8));
}

#[test]
fn names_and_prefix() {
    assert_eq!(Probed::NAME, "probed");
    assert_eq!(Probed::PREFIX, "p.");
}
