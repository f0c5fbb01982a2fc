extension ConsoleAssets {
    /// `assets/app.css`: system fonts only, neutral colours, visible focus, and one breakpoint for
    /// phones (tables scroll sideways instead of squeezing).
    static let appCSS = #"""
:root {
  --bg: #f4f5f7;
  --surface: #ffffff;
  --border: #dcdfe4;
  --border-strong: #c3c8cf;
  --text: #1d2530;
  --muted: #5b6573;
  --accent: #1f5fbf;
  --accent-dark: #174a96;
  --accent-soft: #e8f0fb;
  --ok: #1b7340;
  --ok-soft: #e5f4ea;
  --error: #b42318;
  --error-soft: #fdecea;
  --warn: #8a5a00;
  --warn-soft: #fff4d6;
  --focus: #2f7bf5;
  --radius: 6px;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.06);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-size: 14px;
  line-height: 1.45;
  color: var(--text);
  background: var(--bg);
}

* { box-sizing: border-box; }
html { scroll-padding-top: 64px; }
body { margin: 0; min-height: 100vh; }
body.booting main { visibility: hidden; }
[hidden] { display: none !important; }
h1, h2, h3 { margin: 0; font-weight: 600; }
h1 { font-size: 20px; }
h2 { font-size: 15px; }
h3 { font-size: 13px; color: var(--muted); text-transform: none; margin: 0 0 6px; }
p { margin: 0; }
a { color: var(--accent); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.h-small { font-size: 14px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0, 0, 0, 0); white-space: nowrap; border: 0;
}
.skip-link { position: absolute; left: 8px; top: -40px; background: var(--surface); padding: 6px 10px; z-index: 100; border-radius: var(--radius); }
.skip-link:focus { top: 8px; }

:focus-visible { outline: 2px solid var(--focus); outline-offset: 2px; }
main:focus { outline: none; }

/* ---- top bar ---- */
.topbar {
  display: flex; align-items: center; gap: 24px; padding: 0 24px; height: 52px;
  background: #1e2733; color: #e8ecf1; position: sticky; top: 0; z-index: 20;
}
.brand { display: flex; align-items: center; gap: 8px; font-weight: 600; font-size: 15px; white-space: nowrap; }
.brand-mark { width: 18px; height: 18px; border-radius: 4px; background: linear-gradient(135deg, #5b9cf5, #1f5fbf); display: inline-block; }
.nav { display: flex; gap: 4px; height: 100%; }
.nav a {
  display: flex; align-items: center; padding: 0 12px; color: #c4ccd6; text-decoration: none;
  border-bottom: 2px solid transparent; white-space: nowrap;
}
.nav a:hover { color: #ffffff; }
.nav a[aria-current="page"] { color: #ffffff; border-bottom-color: #5b9cf5; }
.nav a:focus-visible { outline-color: #8fb8ff; outline-offset: -2px; }
.topbar-right { margin-left: auto; display: flex; align-items: center; gap: 12px; min-width: 0; }
.topbar select { background: #2b3644; color: #e8ecf1; border-color: #445163; }
.user-info { font-size: 12px; color: #c4ccd6; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 360px; }
.topbar .btn-quiet { color: #e8ecf1; border-color: #445163; }
.topbar .btn-quiet:hover { background: #2b3644; }

/* ---- banner and messages ---- */
.banner {
  display: flex; align-items: center; justify-content: space-between; gap: 12px;
  padding: 10px 24px; background: var(--error-soft); color: var(--error); border-bottom: 1px solid #f5c2bd;
}
.message { padding: 8px 12px; border-radius: var(--radius); background: var(--accent-soft); color: var(--text); margin: 8px 0; }
.message-error { background: var(--error-soft); color: var(--error); }
.message code { margin-left: 4px; }

/* ---- layout ---- */
main { padding: 20px 24px 48px; max-width: 1480px; margin: 0 auto; }
.view > * + * { margin-top: 14px; }
.page-title { font-size: 18px; }
.page-head { display: flex; align-items: center; justify-content: space-between; gap: 12px; }
.toolbar { display: flex; gap: 8px; }
.card {
  background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  box-shadow: var(--shadow); padding: 16px;
}
.card-head { display: flex; align-items: baseline; gap: 12px; margin-bottom: 8px; flex-wrap: wrap; }
.stats .card { padding: 14px 16px 10px; }
.stack > * + * { margin-top: 12px; }

/* ---- controls ---- */
input, select, button { font: inherit; color: inherit; }
input, select {
  height: 32px; padding: 4px 8px; border: 1px solid var(--border-strong); border-radius: var(--radius);
  background: var(--surface); min-width: 0;
}
input[type="checkbox"] { height: 16px; width: 16px; margin: 0; }
input:disabled { background: var(--bg); color: var(--muted); }
.field { display: flex; flex-direction: column; gap: 4px; font-size: 13px; }
.field > span:first-child { color: var(--muted); font-weight: 500; }
.field-inline { flex-direction: row; align-items: center; gap: 6px; }
.field-check { flex-direction: row; align-items: center; gap: 8px; align-self: end; height: 32px; }
.field-check > span { color: var(--text) !important; font-weight: 400 !important; }
.form-grid .field-button { align-self: end; }
.field-button .btn { align-self: flex-start; }
.field small { font-size: 12px; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend { font-size: 13px; color: var(--muted); font-weight: 500; padding: 0; margin-bottom: 6px; }

.btn {
  display: inline-flex; align-items: center; justify-content: center; gap: 6px; height: 32px; padding: 0 14px;
  border: 1px solid var(--border-strong); border-radius: var(--radius); background: var(--surface);
  cursor: pointer; text-decoration: none; color: var(--text); white-space: nowrap;
}
.btn:hover { background: #f0f2f5; }
.btn:disabled { opacity: 0.55; cursor: default; }
.btn-primary { background: var(--accent); border-color: var(--accent); color: #ffffff; }
.btn-primary:hover { background: var(--accent-dark); }
.btn-quiet { background: transparent; border-color: transparent; color: var(--accent); }
.btn-quiet:hover { background: var(--accent-soft); }
.btn-danger { background: var(--error); border-color: var(--error); color: #ffffff; }
.btn-danger:hover { background: #8f1c13; }
.btn-danger-quiet { color: var(--error); }
.btn-small { height: 26px; padding: 0 10px; font-size: 12px; }
.btn-icon { width: 32px; padding: 0; font-size: 18px; color: var(--muted); }
.btn-block { width: 100%; }
a.btn[aria-disabled="true"] { pointer-events: none; opacity: 0.5; }

.segmented { display: inline-flex; border: 1px solid var(--border-strong); border-radius: var(--radius); overflow: hidden; flex-wrap: wrap; }
.seg {
  height: 30px; padding: 0 12px; border: 0; border-right: 1px solid var(--border); background: var(--surface);
  cursor: pointer; white-space: nowrap;
}
.seg:last-child { border-right: 0; }
.seg:hover { background: #f0f2f5; }
.seg[aria-pressed="true"] { background: var(--accent-soft); color: var(--accent-dark); font-weight: 600; }
.seg:focus-visible { outline-offset: -2px; }

/* ---- sign-in ---- */
.view-signin { display: flex; justify-content: center; padding-top: 6vh; }
.signin-card { width: 100%; max-width: 400px; padding: 28px; }
.signin-card > * + * { margin-top: 14px; }
.signin-card .segmented { display: flex; }
.signin-card .seg { flex: 1; }

/* ---- query form ---- */
.query { padding: 14px 16px; }
.query > * + * { margin-top: 10px; }
.query-line > legend { float: left; width: 96px; padding-top: 6px; margin: 0; }
.query-line > .line-body { overflow: hidden; }
.query-submit > .line-body { margin-left: 96px; display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.range .line-body { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; }
.custom-range { display: flex; gap: 12px; flex-wrap: wrap; }
.custom-range input { color: var(--muted); }
.custom-range.is-active input { color: var(--text); }
.filter-rows { display: flex; flex-direction: column; gap: 8px; }
.filter-row { display: flex; gap: 8px; align-items: center; }
.filter-key { width: 180px; }
.filter-value-slot { flex: 0 1 320px; display: flex; }
.filter-value-slot > * { width: 100%; }
.filter-actions { display: flex; align-items: center; gap: 12px; margin-top: 6px; flex-wrap: wrap; }
.filter-actions .btn-quiet { padding: 0 4px; }
.query-submit .message { flex-basis: 100%; margin: 0; }

/* ---- statistics ---- */
.stats { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
.histogram {
  display: flex; align-items: flex-end; gap: 2px; height: 112px; padding: 4px 0 0;
  border-bottom: 1px solid var(--border);
}
.histogram-note { align-self: center; margin: auto; }
.bar {
  flex: 1 1 0; min-width: 3px; height: 100%; padding: 0; border: 0; background: transparent; cursor: pointer;
  display: flex; align-items: flex-end; border-radius: 2px 2px 0 0;
}
.bar:hover { background: #eef3fb; }
.bar-fill { display: block; width: 100%; background: #5b8fd9; border-radius: 2px 2px 0 0; }
.bar:hover .bar-fill { background: var(--accent); }
.bar-empty { cursor: default; }
.bar:focus-visible { outline-offset: 0; }
.histogram-axis { display: flex; justify-content: space-between; margin: 4px 0 6px; }
.top-lists { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; margin-bottom: 6px; }
.top-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 2px; }
.top-list:not(.is-expanded) > li:nth-child(n+6) { display: none; }
.top-foot { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.top-item {
  position: relative; display: flex; justify-content: space-between; gap: 6px; width: 100%; padding: 2px 6px;
  border: 0; background: transparent; text-align: left; cursor: pointer; border-radius: 4px; font-size: 12px; overflow: hidden;
}
.top-item:hover { background: var(--accent-soft); }
.top-meter { position: absolute; left: 0; top: 0; bottom: 0; background: #eef2f7; z-index: 0; border-radius: 4px; }
.top-value { position: relative; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.top-count { position: relative; color: var(--muted); font-variant-numeric: tabular-nums; }

/* ---- tables ---- */
.results { padding: 0; }
.results .card-head { padding: 14px 16px 0; }
.export { margin-left: auto; display: flex; align-items: center; gap: 4px; }
.table-wrap { overflow-x: auto; }
.table { width: 100%; border-collapse: collapse; font-size: 13px; }
.table th {
  text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 8px 8px;
  border-bottom: 1px solid var(--border); background: #fafbfc; vertical-align: bottom;
}
.table th:first-child, .table td:first-child { padding-left: 14px; }
.table td { padding: 7px 8px; border-bottom: 1px solid #eceef1; vertical-align: top; }
.table tbody tr:last-child td { border-bottom: 0; }
.table tr.clickable { cursor: pointer; }
.table tr.clickable:hover td { background: #f6f8fb; }
.table tr.is-selected td { background: var(--accent-soft); }
.table tr:focus-visible { outline: 2px solid var(--focus); outline-offset: -2px; }
.col-time, .col-sourceIP { white-space: nowrap; font-variant-numeric: tabular-nums; }
.col-user, .col-resourceName { max-width: 140px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.col-eventName { font-weight: 500; max-width: 200px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.col-result .badge { max-width: 150px; overflow: hidden; text-overflow: ellipsis; vertical-align: bottom; }
#history-table .col-user, #history-table .col-eventName { max-width: 320px; }
.col-actions { width: 1%; white-space: nowrap; }
.role-auditor .col-actions { display: none; }
.col-location { max-width: 220px; }
.location { display: inline-block; max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; vertical-align: bottom; }
.row-actions { display: flex; gap: 6px; }
.filters-cell div + div { margin-top: 2px; }
.delivery-error { color: var(--error); font-size: 12px; max-width: 280px; }
.status { padding: 28px 16px; text-align: center; color: var(--muted); }
.status p + p { margin-top: 4px; }
.status-error { color: var(--error); }
.status-warn { color: var(--warn); padding: 10px 16px; }
.results-foot { display: flex; justify-content: center; padding: 12px; border-top: 1px solid var(--border); }
.results-foot:has(> [hidden]:only-child) { display: none; }
.pager { gap: 12px; align-items: center; }

.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.badge-ok { background: var(--ok-soft); color: var(--ok); }
.badge-error { background: var(--error-soft); color: var(--error); }
.badge-warn { background: var(--warn-soft); color: var(--warn); }
.badge-neutral { background: #eceef1; color: var(--muted); }

/* ---- detail panel ---- */
.detail {
  position: fixed; top: 52px; right: 0; bottom: 0; width: min(560px, 100%); z-index: 30;
  background: var(--surface); border-left: 1px solid var(--border); box-shadow: -8px 0 24px rgba(16, 24, 40, 0.12);
  overflow-y: auto; padding: 18px 20px 32px;
}
.detail > * + * { margin-top: 14px; }
.detail-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 12px; }
.detail-head h2 { font-size: 18px; word-break: break-all; }
.detail-actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.detail-parts { display: flex; gap: 4px; flex-wrap: wrap; margin-top: 6px !important; }
.fields { margin: 0; display: grid; grid-template-columns: minmax(140px, max-content) minmax(0, 1fr); border-top: 1px solid var(--border); }
.field-pair { display: contents; }
.fields dt, .fields dd { padding: 5px 0; border-bottom: 1px solid #eceef1; font-size: 13px; }
.fields dt { color: var(--muted); padding-right: 16px; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.fields dd { margin: 0; word-break: break-word; }
.raw {
  margin: 0; padding: 12px; background: #f6f8fa; border: 1px solid var(--border); border-radius: var(--radius);
  font-size: 12px; line-height: 1.5; overflow: auto; max-height: 480px; white-space: pre;
}

/* ---- tracking sets ---- */
.track-form > * + * { margin-top: 14px; }
.form-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px 16px; align-items: start; }
.field-wide { grid-column: span 2; }
.subsection { border-top: 1px solid var(--border); padding-top: 12px; }
.subsection > * + * { margin-top: 12px; }
.subsection legend { float: left; width: 100%; margin-bottom: 0; }
.subsection legend + * { clear: both; }
.track-fields { display: flex; flex-direction: column; gap: 10px; margin-bottom: 10px; }
.track-field-row { display: grid; grid-template-columns: 180px 180px minmax(0, 1fr) 32px; gap: 12px; align-items: end; }
.form-actions { display: flex; gap: 8px; }

.confirm { border: 1px solid var(--border); border-radius: var(--radius); padding: 20px; max-width: 440px; box-shadow: 0 12px 32px rgba(16, 24, 40, 0.2); }
.confirm::backdrop { background: rgba(16, 24, 40, 0.35); }
.confirm p { margin-bottom: 16px; }

/* ---- small screens ---- */
@media (max-width: 1100px) {
  .stats { grid-template-columns: minmax(0, 1fr); }
}
@media (max-width: 760px) {
  .topbar { flex-wrap: wrap; height: auto; padding: 8px 12px; gap: 8px; position: static; }
  .nav { order: 3; width: 100%; overflow-x: auto; height: 36px; }
  .user-info { display: none; }
  main { padding: 12px 12px 40px; }
  .card { padding: 12px; }
  .query-line > legend { float: none; width: auto; padding: 0; margin-bottom: 6px; }
  .query-submit > .line-body { margin-left: 0; }
  .filter-row { flex-wrap: wrap; }
  .filter-key { width: 100%; }
  .filter-value-slot { flex: 1 1 auto; }
  .top-lists { grid-template-columns: minmax(0, 1fr); }
  .export { margin-left: 0; }
  .detail { top: 0; width: 100%; }
  .field-wide { grid-column: auto; }
  .track-field-row { grid-template-columns: minmax(0, 1fr); }
  .fields { grid-template-columns: minmax(0, 1fr); }
  .fields dt { border-bottom: 0; padding-bottom: 0; }
}
"""#
}
