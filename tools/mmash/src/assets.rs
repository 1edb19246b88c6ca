//! The web page and its assets, embedded so mmash needs no internet and no files beside it.
//! uPlot 1.6.32 (MIT licence, `assets/vendor/uplot/LICENSE`) draws the charts.

/// One embedded asset: URL path, content type and bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Where it is served.
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static str,
}

/// Every asset.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../assets/index.html"),
    },
    Asset {
        path: "/assets/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/app.js"),
    },
    Asset {
        path: "/assets/host.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/host.js"),
    },
    Asset {
        path: "/assets/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/app.css"),
    },
    Asset {
        path: "/assets/uplot.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/vendor/uplot/uPlot.iife.min.js"),
    },
    Asset {
        path: "/assets/uplot.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/vendor/uplot/uPlot.min.css"),
    },
    Asset {
        path: "/assets/LICENSE-uplot.txt",
        content_type: "text/plain; charset=utf-8",
        body: include_str!("../assets/vendor/uplot/LICENSE"),
    },
];
