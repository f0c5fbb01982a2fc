extension ConsoleAssets {
    /// The page (`/console/`). No inline script or style (the CSP refuses them): behaviour is in
    /// assets/app.js, looks in assets/app.css, labels in assets/i18n.js (`data-i18n` keys).
    static let indexHTML = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CloudAudit</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%231f5fbf'/%3E%3C/svg%3E">
<link rel="stylesheet" href="/console/assets/app.css">
<script type="module" src="/console/assets/app.js"></script>
</head>
<body class="booting">
<a class="skip-link" href="#main" data-i18n="app.skip">Skip to content</a>
<header class="topbar">
  <div class="brand"><span class="brand-mark" aria-hidden="true"></span><span class="brand-name">CloudAudit</span></div>
  <nav id="nav" class="nav" data-i18n-aria="nav.label" aria-label="Pages" hidden>
    <a href="#/events" id="nav-events" data-testid="nav-events" data-view="events" data-i18n="nav.events">Operation Record</a>
    <a href="#/history" id="nav-history" data-testid="nav-history" data-view="history" data-i18n="nav.history">Resource history</a>
    <a href="#/tracks" id="nav-tracks" data-testid="nav-tracks" data-view="tracks" data-i18n="nav.tracks">Tracking sets</a>
  </nav>
  <div class="topbar-right">
    <label class="lang"><span class="sr-only" data-i18n="lang.label">Language</span>
      <select id="lang" data-testid="lang">
        <option value="en">English</option>
        <option value="zh">中文</option>
      </select>
    </label>
    <span id="user-info" class="user-info" data-testid="user-info" hidden></span>
    <button type="button" id="signout" class="btn btn-quiet" data-testid="signout" data-i18n="signout" hidden>Sign out</button>
  </div>
</header>

<div id="banner" class="banner" role="alert" data-testid="banner" hidden>
  <span id="banner-text"></span>
  <button type="button" id="banner-dismiss" class="btn btn-quiet btn-small" data-i18n="banner.dismiss">Dismiss</button>
</div>

<main id="main" tabindex="-1">

<section id="view-signin" class="view view-signin" data-testid="view-signin" hidden>
  <div class="card signin-card">
    <h1 data-i18n="signin.title">Sign in</h1>
    <p class="muted" data-i18n="signin.subtitle">Use an access key of your account, or the console password of a role.</p>
    <div id="signin-message" class="message" role="alert" data-testid="signin-message" hidden></div>
    <div class="segmented" role="group" data-i18n-aria="signin.mode" aria-label="Sign in with">
      <button type="button" id="signin-mode-key" data-testid="signin-mode-key" class="seg" aria-pressed="true" data-i18n="signin.modeKey">Access key</button>
      <button type="button" id="signin-mode-password" data-testid="signin-mode-password" class="seg" aria-pressed="false" data-i18n="signin.modePassword">Password</button>
    </div>
    <form id="signin-form-key" class="stack signin-form" novalidate>
      <label class="field"><span data-i18n="signin.secretId">SecretId</span>
        <input id="signin-secret-id" data-testid="signin-secret-id" name="SecretId" autocomplete="username" spellcheck="false"></label>
      <label class="field"><span data-i18n="signin.secretKey">SecretKey</span>
        <input id="signin-secret-key" data-testid="signin-secret-key" name="SecretKey" type="password" autocomplete="current-password"></label>
      <button type="submit" id="signin-submit-key" data-testid="signin-submit" class="btn btn-primary btn-block signin-submit" data-i18n="signin.submit">Sign in</button>
    </form>
    <form id="signin-form-password" class="stack signin-form" novalidate hidden>
      <label class="field"><span data-i18n="signin.accountId">Account ID</span>
        <input id="signin-account" data-testid="signin-account" name="AccountId" inputmode="numeric" autocomplete="username" spellcheck="false"></label>
      <label class="field"><span data-i18n="signin.role">Role</span>
        <select id="signin-role" data-testid="signin-role" name="Role">
          <option value="admin" data-i18n="signin.roleAdmin">admin (read and change)</option>
          <option value="auditor" data-i18n="signin.roleAuditor">auditor (read only)</option>
        </select></label>
      <label class="field"><span data-i18n="signin.password">Password</span>
        <input id="signin-password" data-testid="signin-password" name="Password" type="password" autocomplete="current-password"></label>
      <button type="submit" id="signin-submit-password" data-testid="signin-submit" class="btn btn-primary btn-block signin-submit" data-i18n="signin.submit">Sign in</button>
    </form>
  </div>
</section>

<section id="view-events" class="view" data-testid="view-events" hidden>
  <h1 class="page-title" data-i18n="nav.events">Operation Record</h1>
  <form id="query-form" class="card query" novalidate>
    <fieldset class="query-line range">
      <legend data-i18n="range.label">Time range</legend>
      <div class="line-body">
        <div class="segmented" id="range-presets">
          <button type="button" class="seg" id="preset-1h" data-testid="preset-1h" data-preset="1h" aria-pressed="false" data-i18n="range.1h">Last hour</button>
          <button type="button" class="seg" id="preset-24h" data-testid="preset-24h" data-preset="24h" aria-pressed="true" data-i18n="range.24h">Last 24 hours</button>
          <button type="button" class="seg" id="preset-7d" data-testid="preset-7d" data-preset="7d" aria-pressed="false" data-i18n="range.7d">Last 7 days</button>
          <button type="button" class="seg" id="preset-30d" data-testid="preset-30d" data-preset="30d" aria-pressed="false" data-i18n="range.30d">Last 30 days</button>
          <button type="button" class="seg" id="preset-custom" data-testid="preset-custom" data-preset="custom" aria-pressed="false" data-i18n="range.custom">Custom</button>
        </div>
        <div class="custom-range" id="custom-range">
          <label class="field field-inline"><span data-i18n="range.start">From</span>
            <input type="datetime-local" step="1" id="range-start" data-testid="range-start"></label>
          <label class="field field-inline"><span data-i18n="range.end">To</span>
            <input type="datetime-local" step="1" id="range-end" data-testid="range-end"></label>
        </div>
      </div>
    </fieldset>
    <fieldset class="query-line filters">
      <legend data-i18n="filters.label">Filters</legend>
      <div class="line-body">
        <div id="filter-rows" class="filter-rows" data-testid="filter-rows"></div>
        <div class="filter-actions">
          <button type="button" id="filter-add" data-testid="filter-add" class="btn btn-quiet btn-small" data-i18n="filters.add">Add filter</button>
          <span class="muted small" data-i18n="filters.hint">Different attributes must all match; the same attribute given twice matches either value.</span>
        </div>
      </div>
    </fieldset>
    <div class="query-line query-submit">
      <div class="line-body">
        <button type="submit" id="search" data-testid="search" class="btn btn-primary" data-i18n="search">Search</button>
        <span id="query-range" class="muted small" data-testid="query-range"></span>
        <div id="query-error" class="message message-error" role="alert" data-testid="query-error" hidden></div>
      </div>
    </div>
  </form>

  <div class="stats">
    <section class="card histogram-card" aria-labelledby="histogram-title">
      <div class="card-head">
        <h2 id="histogram-title" data-i18n="stats.histogram">Events over time</h2>
        <span id="stats-total" class="muted small" data-testid="stats-total"></span>
      </div>
      <div id="histogram" class="histogram" data-testid="histogram" data-state="idle"></div>
      <div class="histogram-axis muted small"><span id="axis-start"></span><span id="axis-end"></span></div>
      <p class="muted small" data-i18n="stats.zoomHint">Click a bar to zoom into its time range.</p>
    </section>
    <section class="card top-card" aria-labelledby="top-title">
      <h2 id="top-title" class="sr-only" data-i18n="stats.topUsers">Top users</h2>
      <div class="top-lists">
        <div><h3 data-i18n="stats.topUsers">Top users</h3><ol id="top-users" class="top-list" data-testid="top-users" data-key="Username"></ol></div>
        <div><h3 data-i18n="stats.topEvents">Top event names</h3><ol id="top-events" class="top-list" data-testid="top-events" data-key="EventName"></ol></div>
        <div><h3 data-i18n="stats.topIPs">Top source IPs</h3><ol id="top-ips" class="top-list" data-testid="top-ips" data-key="SourceIPAddress"></ol></div>
      </div>
      <div class="top-foot">
        <p class="muted small" data-i18n="stats.topHint">Whole range, filters not applied. Choose one to filter on it.</p>
        <button type="button" id="top-more" data-testid="top-more" class="btn btn-quiet btn-small" aria-expanded="false" aria-controls="top-users top-events top-ips" data-i18n="stats.more">Show 10</button>
      </div>
    </section>
  </div>

  <section class="card results" aria-labelledby="results-title">
    <div class="card-head">
      <h2 id="results-title" data-i18n="results.title">Events</h2>
      <span id="results-count" class="muted small" data-testid="results-count"></span>
      <div class="export">
        <span class="muted small" data-i18n="export.label">Export</span>
        <a id="export-csv" data-testid="export-csv" class="btn btn-quiet btn-small" href="#" download data-i18n="export.csv" data-i18n-title="export.hint">CSV</a>
        <a id="export-jsonl" data-testid="export-jsonl" class="btn btn-quiet btn-small" href="#" download data-i18n="export.jsonl" data-i18n-title="export.hint">JSON lines</a>
      </div>
    </div>
    <div id="events-panel" class="table-wrap" data-testid="events-panel" data-state="idle">
      <table id="events-table" class="table" data-testid="events-table">
        <thead><tr>
          <th scope="col" data-i18n="col.time">Time</th>
          <th scope="col" data-i18n="col.user">User</th>
          <th scope="col" data-i18n="col.eventName">Event name</th>
          <th scope="col" data-i18n="col.resourceType">Resource type</th>
          <th scope="col" data-i18n="col.resourceName">Resource name</th>
          <th scope="col" data-i18n="col.sourceIP">Source IP</th>
          <th scope="col" data-i18n="col.actionType">Read/Write</th>
          <th scope="col" data-i18n="col.result">Result</th>
          <th scope="col" data-i18n="col.sensitive">Sensitive</th>
        </tr></thead>
        <tbody id="events-body"></tbody>
      </table>
      <div id="events-status" class="status" data-testid="events-status" role="status"></div>
    </div>
    <div class="results-foot">
      <button type="button" id="load-more" data-testid="load-more" class="btn" data-i18n="results.more" hidden>Load more</button>
    </div>
  </section>
</section>

<section id="view-history" class="view" data-testid="view-history" hidden>
  <h1 class="page-title" data-i18n="history.title">Resource history</h1>
  <form id="history-form" class="card query" novalidate>
    <p class="muted" data-i18n="history.intro">Everything done to one resource in the time range, oldest first.</p>
    <div class="form-grid">
      <label class="field"><span data-i18n="history.type">Resource type</span>
        <input id="history-type" data-testid="history-type" spellcheck="false" placeholder="cvm"></label>
      <label class="field"><span data-i18n="history.name">Resource name</span>
        <input id="history-name" data-testid="history-name" spellcheck="false" placeholder="ins-abc123"></label>
      <label class="field"><span data-i18n="history.range">Time range</span>
        <select id="history-range-select" data-testid="history-range-select">
          <option value="current" data-i18n="history.rangeCurrent">As on Operation Record</option>
          <option value="1h" data-i18n="range.1h">Last hour</option>
          <option value="24h" data-i18n="range.24h">Last 24 hours</option>
          <option value="7d" data-i18n="range.7d">Last 7 days</option>
          <option value="30d" data-i18n="range.30d">Last 30 days</option>
        </select></label>
      <div class="field field-button">
        <button type="submit" id="history-search" data-testid="history-search" class="btn btn-primary" data-i18n="history.show">Show history</button>
      </div>
    </div>
    <div id="history-error" class="message message-error" role="alert" data-testid="history-error" hidden></div>
  </form>
  <section class="card results" aria-labelledby="history-count">
    <div class="card-head">
      <h2 id="history-count" class="h-small" data-testid="history-count"></h2>
      <span id="history-range" class="muted small" data-testid="history-range"></span>
    </div>
    <div id="history-panel" class="table-wrap" data-testid="history-panel" data-state="idle">
      <table id="history-table" class="table" data-testid="history-table">
        <thead><tr>
          <th scope="col" data-i18n="col.time">Time</th>
          <th scope="col" data-i18n="col.user">User</th>
          <th scope="col" data-i18n="col.eventName">Event name</th>
          <th scope="col" data-i18n="col.sourceIP">Source IP</th>
          <th scope="col" data-i18n="col.result">Result</th>
        </tr></thead>
        <tbody id="history-body"></tbody>
      </table>
      <div id="history-status" class="status" data-testid="history-status" role="status"></div>
    </div>
  </section>
</section>

<section id="view-tracks" class="view" data-testid="view-tracks" hidden>
  <div class="page-head">
    <h1 class="page-title" data-i18n="tracks.title">Tracking sets</h1>
    <div id="tracks-toolbar" class="toolbar">
      <button type="button" id="tracks-refresh" data-testid="tracks-refresh" class="btn btn-quiet" data-i18n="tracks.refresh">Refresh</button>
    </div>
  </div>
  <p class="muted" data-i18n="tracks.intro">A tracking set delivers the matching events, as signed files, to a bucket.</p>
  <div id="tracks-notice" class="message" role="status" data-testid="tracks-notice" hidden></div>
  <div id="tracks-error" class="message message-error" role="alert" data-testid="tracks-error" hidden></div>

  <form id="track-form" class="card track-form" data-testid="track-form" novalidate hidden>
    <h2 id="track-form-title"></h2>
    <div id="track-form-error" class="message message-error" role="alert" data-testid="track-form-error" hidden></div>
    <div class="form-grid">
      <label class="field"><span data-i18n="form.name">Name</span>
        <input id="track-name" data-testid="track-name" spellcheck="false" maxlength="48" aria-describedby="track-name-hint">
        <small id="track-name-hint" class="muted" data-i18n="form.nameHint">3-48 letters, digits, - and _.</small></label>
      <label class="field field-check"><input type="checkbox" id="track-status" data-testid="track-status" checked>
        <span data-i18n="form.status">Deliver events right away</span></label>
    </div>
    <fieldset class="subsection">
      <legend data-i18n="form.mode">Events to deliver</legend>
      <div class="segmented">
        <button type="button" class="seg" id="track-mode-single" data-testid="track-mode-single" aria-pressed="true" data-i18n="form.single">One product</button>
        <button type="button" class="seg" id="track-mode-multi" data-testid="track-mode-multi" aria-pressed="false" data-i18n="form.multi">Several products</button>
      </div>
      <div id="track-single" class="form-grid">
        <label class="field"><span data-i18n="form.resourceType">Resource type</span>
          <input id="track-resource-type" data-testid="track-resource-type" spellcheck="false" value="*">
          <small class="muted" data-i18n="form.resourceTypeHint">A product such as cvm, or * for all</small></label>
        <label class="field"><span data-i18n="form.actionType">Read/Write</span>
          <select id="track-action-type" data-testid="track-action-type">
            <option value="*" data-i18n="actionType.any">* (Read and Write)</option>
            <option value="Read" data-i18n="action.Read">Read</option>
            <option value="Write" data-i18n="action.Write">Write</option>
          </select></label>
        <label class="field field-wide"><span data-i18n="form.eventNames">Event names</span>
          <input id="track-event-names" data-testid="track-event-names" spellcheck="false" value="*">
          <small class="muted" data-i18n="form.eventNamesHint">Comma-separated, or * for all</small></label>
      </div>
      <div id="track-multi" hidden>
        <div id="track-fields" class="track-fields" data-testid="track-fields"></div>
        <button type="button" id="track-field-add" data-testid="track-field-add" class="btn btn-quiet" data-i18n="form.fieldAdd">Add a product</button>
      </div>
    </fieldset>
    <fieldset class="subsection">
      <legend data-i18n="form.storage">Storage</legend>
      <div class="form-grid">
        <label class="field"><span data-i18n="form.region">Region</span>
          <select id="track-region" data-testid="track-region"></select></label>
        <label class="field"><span data-i18n="form.bucket">Bucket</span>
          <input id="track-bucket" data-testid="track-bucket" spellcheck="false" maxlength="50"></label>
        <label class="field"><span data-i18n="form.prefix">File prefix</span>
          <input id="track-prefix" data-testid="track-prefix" spellcheck="false" maxlength="40" value="cloudaudit"></label>
        <label class="field"><span data-i18n="form.compress">Compression</span>
          <select id="track-compress" data-testid="track-compress">
            <option value="1" data-i18n="compress.gzip">gzip</option>
            <option value="2" data-i18n="compress.none">None (plain JSON lines)</option>
          </select></label>
      </div>
    </fieldset>
    <div class="form-actions">
      <button type="submit" id="track-save" data-testid="track-save" class="btn btn-primary"></button>
      <button type="button" id="track-cancel" data-testid="track-cancel" class="btn" data-i18n="form.cancel">Cancel</button>
    </div>
  </form>

  <section class="card results">
    <div id="tracks-panel" class="table-wrap" data-testid="tracks-panel" data-state="idle">
      <table id="tracks-table" class="table" data-testid="tracks-table">
        <thead><tr>
          <th scope="col" data-i18n="col.name">Name</th>
          <th scope="col" data-i18n="col.status">Status</th>
          <th scope="col" data-i18n="col.filters">Events</th>
          <th scope="col" data-i18n="col.storage">Storage</th>
          <th scope="col" data-i18n="col.delivery">Delivery</th>
          <th scope="col" data-i18n="col.location">Location</th>
          <th scope="col" class="col-actions" data-i18n="col.actions">Actions</th>
        </tr></thead>
        <tbody id="tracks-body"></tbody>
      </table>
      <div id="tracks-status" class="status" data-testid="tracks-status" role="status"></div>
    </div>
    <div class="results-foot pager">
      <button type="button" id="tracks-prev" data-testid="tracks-prev" class="btn btn-small" data-i18n="tracks.prev">Previous page</button>
      <span id="tracks-page" class="muted small"></span>
      <button type="button" id="tracks-next" data-testid="tracks-next" class="btn btn-small" data-i18n="tracks.next">Next page</button>
    </div>
  </section>
</section>

</main>

<aside id="detail" class="detail" role="dialog" aria-modal="false" aria-labelledby="detail-title" data-testid="detail" hidden>
  <div class="detail-head">
    <div>
      <p class="muted small" data-i18n="detail.title">Event detail</p>
      <h2 id="detail-title" data-testid="detail-title"></h2>
    </div>
    <button type="button" id="detail-close" data-testid="detail-close" class="btn btn-quiet" data-i18n="detail.close">Close</button>
  </div>
  <div class="detail-actions">
    <button type="button" id="detail-history" data-testid="detail-history" class="btn" data-i18n="detail.history">History of this resource</button>
    <button type="button" id="detail-copy" data-testid="detail-copy" class="btn" data-i18n="detail.copy">Copy JSON</button>
    <span id="detail-copy-status" class="muted small" role="status" data-testid="detail-copy-status"></span>
  </div>
  <div id="detail-history-parts" class="detail-parts" data-testid="detail-history-parts" hidden></div>
  <h3 data-i18n="detail.fields">Fields</h3>
  <dl id="detail-fields" class="fields" data-testid="detail-fields"></dl>
  <h3 data-i18n="detail.raw">Raw record (CloudAuditEvent)</h3>
  <pre id="detail-raw" class="raw" data-testid="detail-raw" tabindex="0"></pre>
</aside>

<dialog id="confirm" class="confirm" data-testid="confirm" aria-labelledby="confirm-text">
  <form method="dialog">
    <p id="confirm-text" data-testid="confirm-text"></p>
    <div class="form-actions">
      <button value="ok" id="confirm-ok" data-testid="confirm-ok" class="btn btn-danger" data-i18n="confirm.ok">Delete</button>
      <button value="cancel" id="confirm-cancel" data-testid="confirm-cancel" class="btn" data-i18n="confirm.cancel">Cancel</button>
    </div>
  </form>
</dialog>
</body>
</html>
"""#
}
