#!/usr/bin/env python3
"""Times prometheus_client's multiprocess collector on files like mmash's scale benchmark.

prometheus_client (https://pypi.org/project/prometheus-client/) is how Python programs with
several worker processes publish metrics: each process writes memory-mapped `.db` files into
PROMETHEUS_MULTIPROC_DIR and a scrape reads and merges all of them. This script writes, for N
processes, the closest mix to tools/mmash/benches/scale.rs's files (30 counters, 10 gauges, 4
histograms, 2 summaries; the format has no text values) with the library's own API, then times
one scrape (`MultiProcessCollector` + `generate_latest`): CPU seconds, median of three.

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install prometheus_client
    /tmp/peers/bin/python benches/peers/prometheus_client_multiprocess.py 100 1000 10000

Prints one JSON object per count, to compare with the `sampler tick` and `/metrics` lines of
`cargo bench -p mmash --bench scale` (mmash reads in its sampler and renders per scrape; the
collector does both in every scrape).
"""

import json
import os
import statistics
import sys
import tempfile
import time


def write_files(directory, processes):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import Counter, Gauge, Histogram, Summary, values

    current = [0]
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: current[0])
    for pid in range(1, processes + 1):
        current[0] = pid
        for i in range(30):
            Counter(f"app_counter{i}", "a counter", registry=None).inc(pid + i)
        for i in range(10):
            Gauge(f"app_gauge{i}", "a gauge", registry=None, multiprocess_mode="livesum").set(i)
        for i in range(4):
            h = Histogram(f"app_hist{i}", "a histogram", registry=None)
            for v in (0.001, 0.01, 0.1, 1.0):
                h.observe(v)
        for i in range(2):
            Summary(f"app_avg{i}", "an average", registry=None).observe(3.0)


def scrape():
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def main():
    counts = [int(a) for a in sys.argv[1:]] or [100, 1000, 10000]
    for count in counts:
        with tempfile.TemporaryDirectory() as d:
            write_files(d, count)
            times = []
            size = 0
            for _ in range(3):
                start = time.process_time()
                size = len(scrape())
                times.append(time.process_time() - start)
            files = len(os.listdir(d))
            print(json.dumps({
                "processes": count,
                "db_files": files,
                "scrape_cpu_seconds_median": round(statistics.median(times), 4),
                "bytes": size,
            }), flush=True)


if __name__ == "__main__":
    main()
