/// The console's static files, served under `/console/` by the binary itself (no CDN, nothing read
/// from disk at run time). Keys are paths relative to `/console/` ("" is the page).
///
/// The files are real files in `Resources/` beside this one: `index.html`, and in `assets/` the
/// style sheet and the ES modules (`app.js` is the one the page loads). SwiftPM
/// embeds them in the code (`.embedInCode("Resources")` in Package.swift): its generated
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
        "assets/app.js": File(contentType: javascript, body: PackageResources.app_js),
        "assets/i18n.js": File(contentType: javascript, body: PackageResources.i18n_js),
    ]
}
