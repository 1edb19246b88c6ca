//! Reading a file while its writer updates it, checking that no read is torn: at step `k` the
//! writer sets a text field to [`step_text`]`(k)` and increments a counter; [`read_while_written`]
//! takes snapshots meanwhile and checks that every text read is one whole step (a torn read
//! mixes two steps and breaks the pattern) and that the counter never goes backwards.
//!
//! ```
//! use mmstats_testkit::torn::{step_of, step_text};
//!
//! assert_eq!(step_of(&step_text(41)), 41);
//! ```

use mmstats_reader::{Num, Snapshot, StatsFile, Value, ValueError};

/// The text written at step `k`: `k`, a colon, then `k % 40` copies of one letter (at most 60
/// bytes).
pub fn step_text(k: u64) -> String {
    let letter = char::from(b'a' + (k % 26) as u8);
    format!("{k}:{}", letter.to_string().repeat((k % 40) as usize))
}

/// The step a whole [`step_text`] was written at; panics naming the text if it is torn.
pub fn step_of(t: &str) -> u64 {
    let (k, rest) = t
        .split_once(':')
        .unwrap_or_else(|| panic!("torn text {t:?}"));
    let k: u64 = k.parse().unwrap_or_else(|_| panic!("torn text {t:?}"));
    assert_eq!(
        rest,
        &step_text(k)[k.to_string().len() + 1..],
        "torn text {t:?}"
    );
    k
}

/// What [`read_while_written`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reads {
    /// Reads whose text was whole.
    pub whole: u32,
    /// Reads whose text was still being written after the reader's retries.
    pub busy: u32,
    /// The counter's value at the last read.
    pub last_count: u64,
}

/// Takes `reads` snapshots of `file` while its writer runs. Each text read of field `text`
/// must be a whole [`step_text`] (or "being written": a writer holding its lock that rewrites
/// a value for longer than the reader retries) and each read of the u64 counter `counter` at
/// least the one before; `each` gets every snapshot with the step read from it (`None` when
/// busy) and the counter, for checks of their own. Panics at the first torn or unreadable value.
pub fn read_while_written(
    file: &mut StatsFile,
    reads: u32,
    text: &str,
    counter: &str,
    mut each: impl FnMut(&Snapshot, Option<u64>, u64),
) -> Reads {
    let mut seen = Reads {
        whole: 0,
        busy: 0,
        last_count: 0,
    };
    for _ in 0..reads {
        let snap = file.snapshot().expect("snapshot");
        let step = match &snap
            .field(text)
            .unwrap_or_else(|| panic!("no field {text}"))
            .value
        {
            Ok(Value::Text(t)) => {
                seen.whole += 1;
                Some(step_of(t))
            }
            Err(ValueError::BeingWritten) => {
                seen.busy += 1;
                None
            }
            other => panic!("{text} read as {other:?}"),
        };
        let count = match &snap
            .field(counter)
            .unwrap_or_else(|| panic!("no field {counter}"))
            .value
        {
            Ok(Value::Number(Num::U(n))) => *n,
            other => panic!("{counter} read as {other:?}"),
        };
        assert!(
            count >= seen.last_count,
            "{counter} went backwards: {} then {count}",
            seen.last_count
        );
        seen.last_count = count;
        each(&snap, step, count);
    }
    seen
}
