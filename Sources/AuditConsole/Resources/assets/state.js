// @ts-check
/**
 * The page's state, all of it, in one object that the views import and change. Nothing else in the
 * console keeps data between calls: the DOM shows the state, and forgetting a session resets it here
 * (app.js `forgetData` and each view's `reset...`).
 */

/** @typedef {import("./records.js").ConsoleEvent} ConsoleEvent */
/** @typedef {import("./query.js").Query} Query */
/** @typedef {import("./query.js").Range} Range */
/** @typedef {import("./tracking.js").Track} Track */
/** @typedef {import("./query.js").LiveQuery} LiveQuery */
/** @typedef {import("./alerting.js").AlertRule} AlertRule */
/** @typedef {import("./alerting.js").AlertChannel} AlertChannel */
/** @typedef {import("./alerting.js").FiredAlert} FiredAlert */

/**
 * The Live view's connection: `state` is its `data-state` ("idle", "connecting", "live",
 * "reconnecting", "stopped" or "error"; "paused" is drawn from `livePaused`), `key` and `vars` its
 * status line's label (drawn again when the language changes).
 * @typedef {{state: string, key: string, vars?: Record<string, unknown>}} LiveStatus
 */

/**
 * What the server's last `behind` message said: how many events the stream was behind the log, when,
 * and whether a heartbeat said since that it caught up.
 * @typedef {{behind: number, at: number, caughtUp: boolean}} LiveBehind
 */

/**
 * What `GET/POST api/session` answers in `Session` (docs/console.md).
 * @typedef {{AccountId: number, Role: string, UserName?: string, CsrfToken?: string, IdleTimeout?: number, ExpiresAt?: number}} Session
 */

/**
 * One lookup key of `GetAttributeKey` (the filter menu).
 * @typedef {{Value: string, Label?: string, LabelType?: string, Starter?: string, Order?: number}} AttributeKey
 */

/**
 * A COS region of `ListCosEnableRegion`.
 * @typedef {{CosRegion: string, CosRegionName?: string}} CosRegion
 */

/** @typedef {{Value: string, Count: number}} TopValue */
/**
 * What `DescribeEventStats` answers (docs/console.md).
 * @typedef {{Histogram?: {StartTime: number, EndTime: number, Count: number}[], TotalCount?: number,
 *   TopUsers?: TopValue[], TopEventNames?: TopValue[], TopSourceIPs?: TopValue[]}} EventStats
 */

export const state = {
  /** The labels' language, "en" or "zh". */
  lang: "en",
  /** @type {Session | null} null while signed out. */
  session: null,
  /** @type {"key" | "password"} which sign-in form shows. */
  signinMode: "key",
  /** @type {string | null} the view on screen: "signin", "events", "history", "tracks", "live" or "alerts". */
  view: null,

  // Filter menus (the Operation Record's and the Live view's)
  /** @type {AttributeKey[]} */
  attrKeys: [],
  /** @type {Promise<void> | null} the GetAttributeKey call under way. */
  attrKeysLoading: null,

  // Operation Record
  /** @type {string} the range preset ("1h", "24h", "7d", "30d") or "custom". */
  preset: "24h",
  /** @type {Query | null} the search shown, its range fixed when it started. */
  query: null,
  /** @type {string | null} NextToken of the search's next page. */
  next: null,
  /** @type {ConsoleEvent[]} the events loaded so far. */
  events: [],
  /** TotalCount of the search. */
  total: 0,
  /** No more pages. */
  listOver: true,
  /** Counts searches: an answer for an older one is dropped. */
  searchSeq: 0,
  /** @type {EventStats | null} the last DescribeEventStats answer (redrawn when the language changes). */
  lastStats: null,

  // Event detail
  /** @type {ConsoleEvent | null} the event in the detail panel. */
  detailEvent: null,
  /** @type {HTMLElement | null} where focus returns when the panel closes. */
  detailReturn: null,

  // Resource history
  /** Counts history queries: an answer for an older one is dropped. */
  historySeq: 0,
  /** @type {ConsoleEvent[] | null} the history shown, oldest first. */
  historyEvents: null,
  /** The history stopped at its cap. */
  historyCapped: false,

  // Live
  /** @type {LiveQuery | null} what the stream follows; null until the view first opens. */
  liveQuery: null,
  /** @type {string | null} the id of the last message read: the stream continues after it. */
  liveCursor: null,
  /** @type {ConsoleEvent[]} the events drawn, newest first (at most LIVE_ROWS of live.js). */
  liveEvents: [],
  /** Events dropped off the bottom of the table since the stream started. */
  liveDropped: 0,
  livePaused: false,
  /** @type {string[]} the records received while paused, oldest first (the newest LIVE_ROWS of them). */
  livePending: [],
  /** Events received while paused, all of them. */
  livePendingCount: 0,
  /** @type {LiveStatus} */
  liveStatus: { state: "idle", key: "" },
  /** @type {LiveBehind | null} */
  liveBehind: null,
  /** Counts the streams opened: what an older one reads is dropped. */
  liveSeq: 0,

  // Tracking sets
  tracksPage: 1,
  tracksTotal: 0,
  /** @type {Track | null} the set in the form, null for a new one. */
  editing: null,
  /** @type {"single" | "multi"} the form's filter mode. */
  trackMode: "single",
  /** @type {CosRegion[]} */
  regions: [],

  // Alerts
  /** @type {string} the fired alerts' range: "1h", "24h" or "7d". */
  alertsRange: "24h",
  /** @type {FiredAlert[]} DescribeAlerts's, newest first. */
  firedAlerts: [],
  /** TotalCount of DescribeAlerts (more than shown when over its one page). */
  firedTotal: 0,
  /** Counts DescribeAlerts calls: an answer for an older one is dropped. */
  firedSeq: 0,
  /** @type {AlertRule[]} */
  alertRules: [],
  /** @type {AlertChannel[]} */
  alertChannels: [],
  /** @type {AlertRule[]} DescribeAlertRuleTemplates's (loaded once a session). */
  alertTemplates: [],
  /** @type {string | null} the template the rule form was filled from. */
  ruleTemplate: null,
};
