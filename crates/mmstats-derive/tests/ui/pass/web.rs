use mmstats::{Counter, Error, Gauge, Instance, Local, Options, Reserve, Stats, StatsModel, Text};

#[derive(mmstats::Stats)]
#[stats(prefix = "web.stats.", name = "web")]
struct WebStats {
    #[stat(label = "status.2XX", help = "responses with a 2xx status")]
    status2xx: Counter,
    #[stat(label = "timers.last_hit", unit = "seconds", combine = "max")]
    last_hit: Gauge<f64>,
    #[stat(window = 100)]
    requests: Gauge<u32>,
    #[stat(capacity = 64)]
    build: Text,
    #[stat(skip)]
    note: Option<String>,
}

#[derive(mmstats::Stats)]
struct HTTPServerStats {
    hits: Counter,
}

#[derive(mmstats::Stats)]
struct Empty {}

fn main() {
    assert_eq!(<WebStats as StatsModel>::NAME, "web");
    assert_eq!(<WebStats as StatsModel>::PREFIX, "web.stats.");
    assert_eq!(<HTTPServerStats as StatsModel>::NAME, "http_server_stats");
    assert_eq!(<HTTPServerStats as StatsModel>::PREFIX, "");
    assert_eq!(<Empty as StatsModel>::NAME, "empty");

    // The generated functions have the documented signatures.
    let _: fn(Options) -> Result<Instance<WebStats>, Error> = WebStats::create;
    let _: fn() -> Local<WebStats> = WebStats::local;
    let _: fn(&Stats) -> Result<WebStats, Error> = <WebStats as StatsModel>::register_all;
    let _: fn() -> Reserve = <WebStats as StatsModel>::reserve;

    // Fields keep their types.
    fn fields(s: &WebStats) -> (&Counter, &Gauge<f64>, &Gauge<u32>, &Text, &Option<String>) {
        (&s.status2xx, &s.last_hit, &s.requests, &s.build, &s.note)
    }
    let _ = fields;

    // A model without fields registers nothing and needs no room.
    let room = <Empty as StatsModel>::reserve();
    assert_eq!((room.fields, room.strings, room.values), (0, 0, 0));
}
