/// The console's static files, served under `/console/` by the binary itself (no build step, no CDN).
/// Keys are paths relative to `/console/` ("" is the page).
///
/// Each file is a Swift string constant in its own file beside this one: `IndexHTML.swift`,
/// `AppJS.swift` (the behaviour, an ES module), `I18nJS.swift` (every label in `en` and `zh`),
/// `AppCSS.swift`. The page loads nothing else: the CSP (`default-src 'self'`) refuses inline scripts,
/// inline styles and other origins.
enum ConsoleAssets {
    struct File: Sendable {
        var contentType: String
        var body: String
    }

    static let files: [String: File] = [
        "": File(contentType: "text/html; charset=utf-8", body: indexHTML),
        "assets/app.js": File(contentType: "text/javascript; charset=utf-8", body: appJS),
        "assets/i18n.js": File(contentType: "text/javascript; charset=utf-8", body: i18nJS),
        "assets/app.css": File(contentType: "text/css; charset=utf-8", body: appCSS),
    ]
}
