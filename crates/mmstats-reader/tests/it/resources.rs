//! Resources within an interval engine's sample: a process's resource file joins its stats
//! files, the host is a process of its own, and neither counts as stats.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use mmstats_reader::resource::{HOST_WRITER, PROCESS_WRITER, is_host, stats_only};
use mmstats_reader::{
    FieldMeta, FileInfo, FormatVersion, Intervals, Kind, Num, ProcessId, Snapshot, Value, ValueType,
};
use mmstats_testkit::snapshot::SnapshotBuilder;

fn snap(path: &str, info: FileInfo, at: u64, fields: &[(&str, Kind, u64)]) -> Snapshot {
    fields
        .iter()
        .fold(
            SnapshotBuilder::new(path)
                .info(info)
                .taken(UNIX_EPOCH + Duration::from_secs(at)),
            |b, (l, k, v)| {
                b.field(
                    FieldMeta::new(*l, *k, ValueType::U64),
                    Value::Number(Num::U(*v)),
                )
            },
        )
        .build()
}

fn process(pid: u32, resource: bool) -> FileInfo {
    let mut info = FileInfo::new(FormatVersion::V2, (u64::from(!resource), 9));
    info.pid = Some(pid);
    info.start_time = Some(100);
    info.boot_id = Some([3; 16]);
    info.created = Some(UNIX_EPOCH);
    if resource {
        info.writer = PROCESS_WRITER.into();
    } else {
        info.tid = Some(pid);
    }
    info
}

fn scan(at: u64) -> Vec<Snapshot> {
    let mut host = FileInfo::new(FormatVersion::V2, (0, 0));
    host.writer = HOST_WRITER.into();
    vec![
        snap(
            "/s/web-7-7.mmstats",
            process(7, false),
            at,
            &[("requests", Kind::Counter, 10 * at)],
        ),
        snap(
            "/proc/7",
            process(7, true),
            at,
            &[
                ("proc.cpu.ticks", Kind::Counter, 3 * at),
                ("proc.mem.rss", Kind::Gauge, 1000),
            ],
        ),
        snap("/proc", host, at, &[("host.ctxt", Kind::Counter, 50 * at)]),
    ]
}

#[test]
fn a_process_and_its_resources_are_one_process_and_the_host_another() {
    let mut engine = Intervals::new().assume_alive();
    engine.update(&scan(10));
    let sample = engine.update(&scan(12));
    assert_eq!(sample.processes.len(), 2);
    let web = sample
        .processes
        .iter()
        .find(|p| p.pid() == Some(7))
        .unwrap();
    assert_eq!(web.files.len(), 2);
    // the resource counter's rate comes from the engine; its gauge from its one file
    assert_eq!(
        web.series("proc.cpu.ticks").unwrap().number(None),
        Some(3.0)
    );
    assert_eq!(
        web.series("proc.mem.rss").unwrap().number(None),
        Some(1000.0)
    );
    let host = sample.processes.iter().find(|p| is_host(p)).unwrap();
    assert_eq!(host.id, ProcessId::File(PathBuf::from("/proc")));
    assert!(!is_host(web));

    let stats = stats_only(&sample);
    assert_eq!(stats.processes.len(), 1);
    let labels: Vec<&str> = stats.processes[0]
        .series
        .iter()
        .map(|s| s.meta.label.as_str())
        .collect();
    assert_eq!(labels, ["requests"]);
    assert_eq!(stats.processes[0].files.len(), 1);
    let combined = sample.combined();
    let rss = combined.iter().find(|s| s.meta.label == "proc.mem.rss");
    assert_eq!(rss.unwrap().number(None), Some(1000.0), "counted once");

    // the process exits: its resources' final totals are no stats either
    let mut later = scan(14);
    later.retain(|s| s.info.pid.is_none());
    let sample = engine.update(&later);
    assert!(
        sample
            .exited
            .iter()
            .any(|s| s.meta.label == "proc.cpu.ticks")
    );
    let stats = stats_only(&sample);
    assert!(stats.processes.is_empty());
    let exited: Vec<&str> = stats.exited.iter().map(|s| s.meta.label.as_str()).collect();
    assert_eq!(exited, ["requests"]);
}
