//! The desk page's files, embedded in the binary: no build step, nothing fetched at run time.

/// The page's files by URL path: (path, content type, body).
pub(crate) const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("page/index.html"),
    ),
    (
        "/assets/app.js",
        "text/javascript; charset=utf-8",
        include_str!("page/app.js"),
    ),
    (
        "/assets/style.css",
        "text/css; charset=utf-8",
        include_str!("page/style.css"),
    ),
];

/// The file served at `path`, if it is one of the page's.
pub(crate) fn asset(path: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, kind, body)| (*kind, *body))
}
