//! Replays the fuzz campaign's corpus and every crash it found (`fuzz/corpus/<target>/`,
//! `fuzz/artifacts/<target>/`) through the fuzz targets' own code, so a fixed crash stays fixed.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.is_file());
    v.sort();
    v
}

#[test]
fn every_corpus_input_and_every_crash_replays() {
    let mut total = 0;
    for (target, run) in mmstats_fuzzing::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(!corpus.is_empty(), "fuzz/corpus/{target} is empty");
        for p in corpus.iter().chain(&inputs("artifacts", target)) {
            let data = std::fs::read(p).unwrap();
            let result = std::panic::catch_unwind(|| run(&data));
            assert!(result.is_ok(), "{target}: {} fails", p.display());
            total += 1;
        }
    }
    assert!(total > 40, "only {total} inputs");
}
