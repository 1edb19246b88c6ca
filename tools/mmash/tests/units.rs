//! The units table (`tests/units.json`) that mmash's page is tested against holds for the Rust
//! units module (`mmstats_render::units`) too: one rule, two implementations, one table.

use mmstats_reader::{FieldMeta, Kind, Num, ValueType};
use mmstats_render::text::scalar;
use mmstats_render::units::{compact, number};
use serde_json::Value;

#[test]
fn the_rust_renderer_writes_every_row_of_the_units_table() {
    let table: Value =
        serde_json::from_str(include_str!("units.json")).expect("tests/units.json is JSON");
    let rows = table["rows"].as_array().expect("rows");
    assert!(rows.len() > 30);
    let mut wrong = Vec::new();
    for r in rows {
        let unit = r["unit"].as_str().unwrap();
        let want = r["text"].as_str().unwrap();
        let got = match r["form"].as_str().unwrap() {
            "compact" => compact(r["value"].as_f64().unwrap(), unit),
            "whole" => {
                // an integer gauge without unit, and a constant (never scaled), are whole
                let v = r["value"].as_u64().unwrap();
                let mut meta = FieldMeta::new("x", Kind::Gauge, ValueType::U64);
                meta.unit = unit.to_string();
                let gauge = scalar(&meta, Num::U(v));
                assert_eq!(gauge, number(v as f64), "{r}");
                gauge
            }
            other => panic!("unknown form {other}"),
        };
        if got != want {
            wrong.push(format!("{r}: got {got}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
