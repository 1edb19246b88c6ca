//! The web page and its assets, embedded so mmash needs no internet and no files beside it.
//! The charts are hand-written SVG (`assets/chart.js`); the units follow the terminal tools'
//! rule (`assets/units.js`, tested against the same table as the Rust side).

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
        path: "/assets/units.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/units.js"),
    },
    Asset {
        path: "/assets/chart.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/chart.js"),
    },
    Asset {
        path: "/assets/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/app.js"),
    },
    Asset {
        path: "/assets/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/app.css"),
    },
];
