/// The console's static files, served under `/console/` by the binary itself (no CDN, nothing read
/// from disk at run time). Keys are paths relative to `/console/` ("" is the page).
///
/// The files are real files in `Resources/` beside this one: `index.html`, and in `assets/` the
/// style sheet and the ES modules (`app.js` is the one the page loads; docs/console.md says what each
/// holds). SwiftPM embeds them in the code (`.embedInCode("Resources")` in Package.swift): its generated
/// `PackageResources` holds one byte array per file, named after the file alone, so two files may not
/// share a name. A new file must be added here too; `ConsoleTests+Assets` fails for a file of the
/// folder that is not served as it is on disk, and for an import or link of the page that is not served.
/// The CSP (`default-src 'self'`) refuses inline scripts, inline styles and other origins.
enum ConsoleAssets {
    struct File: Sendable {
        var contentType: String
        var body: [UInt8]
    }

    static let html = "text/html; charset=utf-8"
    static let javascript = "text/javascript; charset=utf-8"
    static let css = "text/css; charset=utf-8"

    static let files: [String: File] = [
        "": File(contentType: html, body: PackageResources.index_html),
        "assets/app.css": File(contentType: css, body: PackageResources.app_css),
        // The entry module, then the views, then what they share (the state, labels, the API client, helpers).
        "assets/app.js": File(contentType: javascript, body: PackageResources.app_js),
        "assets/session.js": File(contentType: javascript, body: PackageResources.session_js),
        "assets/events.js": File(contentType: javascript, body: PackageResources.events_js),
        "assets/event-rows.js": File(contentType: javascript, body: PackageResources.event_rows_js),
        "assets/filters.js": File(contentType: javascript, body: PackageResources.filters_js),
        "assets/live.js": File(contentType: javascript, body: PackageResources.live_js),
        "assets/detail.js": File(contentType: javascript, body: PackageResources.detail_js),
        "assets/history.js": File(contentType: javascript, body: PackageResources.history_js),
        "assets/tracks.js": File(contentType: javascript, body: PackageResources.tracks_js),
        "assets/alerts.js": File(contentType: javascript, body: PackageResources.alerts_js),
        "assets/state.js": File(contentType: javascript, body: PackageResources.state_js),
        "assets/i18n.js": File(contentType: javascript, body: PackageResources.i18n_js),
        "assets/lang.js": File(contentType: javascript, body: PackageResources.lang_js),
        "assets/api.js": File(contentType: javascript, body: PackageResources.api_js),
        "assets/dom.js": File(contentType: javascript, body: PackageResources.dom_js),
        "assets/time.js": File(contentType: javascript, body: PackageResources.time_js),
        "assets/query.js": File(contentType: javascript, body: PackageResources.query_js),
        "assets/records.js": File(contentType: javascript, body: PackageResources.records_js),
        "assets/sse.js": File(contentType: javascript, body: PackageResources.sse_js),
        "assets/paging.js": File(contentType: javascript, body: PackageResources.paging_js),
        "assets/tracking.js": File(contentType: javascript, body: PackageResources.tracking_js),
        "assets/alerting.js": File(contentType: javascript, body: PackageResources.alerting_js),
    ]
}
