// @ts-check
/**
 * The Tracking sets view: the sets of the account with their delivery status, and for an admin the
 * form that creates and edits them, start and stop, delete (after a confirmation).
 */
import { state } from "./state.js";
import { t } from "./lang.js";
import { $, h, show, setMessage, timeEl, badge, bump, panelState, confirmDialog } from "./dom.js";
import { call, errorText } from "./api.js";
import { localText } from "./time.js";
import { pageCount } from "./paging.js";
import { filtersOf, splitNames, trackSaveCall } from "./tracking.js";

/** @typedef {import("./tracking.js").Track} Track */
/** @typedef {import("./tracking.js").ResourceField} ResourceField */

const TRACKS_PAGE_SIZE = 20;

function isAdmin() { return !!(state.session && state.session.Role === "admin"); }

/** The "new set" button for an admin, the read-only note for an auditor. */
export function renderTrackToolbar() {
  const bar = $("tracks-toolbar");
  const old = $("track-new");
  if (old) old.remove();
  const ro = $("tracks-readonly");
  if (ro) ro.remove();
  if (isAdmin()) {
    const btn = h("button", { type: "button", id: "track-new", "data-testid": "track-new", class: "btn btn-primary", "data-i18n": "tracks.new", text: t("tracks.new") });
    btn.addEventListener("click", () => openTrackForm(null));
    bar.append(btn);
  } else {
    $("tracks-notice").insertAdjacentElement("beforebegin",
      h("p", { id: "tracks-readonly", class: "message", "data-testid": "tracks-readonly", "data-i18n": "tracks.readOnly", text: t("tracks.readOnly") }));
    $("track-form").hidden = true;
  }
}

/** @param {ResourceField} f */
function describeFilter(f) {
  const names = (f.EventNames || []).join(", ");
  return `${f.ResourceType === "*" ? t("filter.allProducts") : f.ResourceType} · ${f.ActionType === "*" ? t("filter.readWrite") : t("action." + f.ActionType)} · ${names === "*" ? t("filter.allEvents") : names}`;
}

/**
 * Loads the page of sets on screen with their delivery status.
 * @returns {Promise<void>}
 */
export async function loadTracks() {
  const panel = $("tracks-panel");
  panelState(panel, $("tracks-status"), "loading", t("tracks.loading"));
  setMessage($("tracks-error"), "");
  /** @type {Track[]} */
  let tracks;
  /** @type {Record<string, any>} */
  const statuses = {};
  let statusError = null;
  try {
    const [list, delivery] = await Promise.all([
      call("DescribeAuditTracks", { PageNumber: state.tracksPage, PageSize: TRACKS_PAGE_SIZE }),
      call("DescribeDeliveryStatus", {}).catch((e) => { if (e.status === 401) throw e; statusError = e; return { Statuses: [] }; }),
    ]);
    // The list answers the first product filter only (as the official API does): read each set
    // of the page for its multi-product filters.
    tracks = await Promise.all((list.Tracks || []).map((/** @type {Track} */ tr) =>
      call("DescribeAuditTrack", { TrackId: tr.TrackId }).then((d) => ({ ...tr, Filters: d.Filters })).catch(() => tr)));
    state.tracksTotal = list.TotalCount || 0;
    for (const s of delivery.Statuses || []) statuses[s.TrackId] = s;
    if (!tracks.length && state.tracksPage > 1 && state.tracksTotal) {
      state.tracksPage = pageCount(state.tracksTotal, TRACKS_PAGE_SIZE);
      return loadTracks();
    }
  } catch (e) {
    panelState(panel, $("tracks-status"), "error", t("error.generic", { msg: errorText(e) }));
    bump(panel);
    return;
  }
  renderTracks(tracks, statuses, statusError);
  bump(panel);
}

/**
 * @param {Track[]} tracks
 * @param {Record<string, any>} statuses DescribeDeliveryStatus's, by TrackId
 * @param {any} statusError why there are none
 */
function renderTracks(tracks, statuses, statusError) {
  const body = $("tracks-body");
  body.textContent = "";
  for (const tr of tracks) body.append(trackRow(tr, statuses[tr.TrackId], statusError));
  const panel = $("tracks-panel");
  if (tracks.length) panelState(panel, $("tracks-status"), "ready");
  else panelState(panel, $("tracks-status"), "empty", t("tracks.empty"));
  const pages = pageCount(state.tracksTotal, TRACKS_PAGE_SIZE);
  $("tracks-page").textContent = t("tracks.page", { n: state.tracksPage, pages });
  $("tracks-prev").disabled = state.tracksPage <= 1;
  $("tracks-next").disabled = state.tracksPage >= pages;
  show($("tracks-prev").parentElement, pages > 1);
}

/**
 * @param {Track} track
 * @param {any} st its delivery status
 * @param {any} statusError
 */
function trackRow(track, st, statusError) {
  const on = Number(track.Status) === 1;
  const s = track.Storage || {};
  const delivery = h("div", { class: "delivery", "data-testid": "track-delivery" });
  if (statusError) {
    delivery.append(h("span", { class: "muted small", text: t("delivery.unavailable", { msg: errorText(statusError) }) }));
  } else if (st) {
    if (st.DeliveredAt) delivery.append(h("div", {}, t("delivery.last", { time: "" }), timeEl(Number(st.DeliveredAt))));
    else delivery.append(h("div", { class: "muted", text: t("delivery.never") }));
    delivery.append(h("div", { class: "muted small", "data-testid": "track-lag", text: t("delivery.lag", { events: st.LagEvents ?? 0, seconds: st.LagSeconds ?? 0 }) }));
    if (st.Files !== undefined) delivery.append(h("div", { class: "muted small", text: t("delivery.files", { files: st.Files, events: st.Events ?? 0 }) }));
    if (st.LastError) {
      delivery.append(h("div", { class: "delivery-error", "data-testid": "track-last-error",
        text: t("delivery.error", { time: st.LastErrorAt ? localText(Number(st.LastErrorAt)) : "", msg: st.LastError }) }));
    }
  }
  /** @type {HTMLElement} */
  let where = h("span", { class: "muted", "data-testid": "track-location", text: (st && st.Location) || "—" });
  if (st && st.Location && /^(https?|file|s3|cos):/i.test(st.Location)) {
    where = h("a", { href: st.Location, target: "_blank", rel: "noopener noreferrer", class: "location", "data-testid": "track-location",
      title: st.Location, text: st.Location });
  }
  const actions = h("td", { class: "col-actions" });
  if (isAdmin()) {
    const edit = h("button", { type: "button", class: "btn btn-small", "data-testid": "track-edit", dataset: { action: "edit" }, text: t("tracks.edit") });
    edit.addEventListener("click", () => openTrackForm(track));
    const toggle = h("button", { type: "button", class: "btn btn-small", "data-testid": "track-toggle", dataset: { action: on ? "stop" : "start" },
      text: on ? t("tracks.stop") : t("tracks.start") });
    toggle.addEventListener("click", () => setTrackStatus(track, on ? 0 : 1, toggle));
    const del = h("button", { type: "button", class: "btn btn-small btn-danger-quiet", "data-testid": "track-delete", dataset: { action: "delete" }, text: t("tracks.delete") });
    del.addEventListener("click", () => deleteTrack(track, del));
    actions.append(h("div", { class: "row-actions" }, edit, toggle, del));
  }
  return h("tr", { "data-testid": "track-row", dataset: { trackId: track.TrackId, name: track.Name, status: track.Status } },
    h("td", {}, h("strong", { text: track.Name }), h("div", { class: "muted small", text: `#${track.TrackId}` })),
    h("td", {}, badge(on ? t("status.on") : t("status.off"), on ? "ok" : "neutral")),
    h("td", { class: "filters-cell" }, filtersOf(track).map((f) => h("div", { text: describeFilter(f) }))),
    h("td", {}, h("div", { text: `${s.StorageRegion || ""} / ${s.StorageName || ""}` }), h("div", { class: "muted small", text: `${s.StoragePrefix || ""} · ${Number(s.Compress) === 2 ? "json" : "gzip"}` })),
    h("td", {}, delivery),
    h("td", { class: "col-location" }, where),
    actions);
}

/** @param {string} text what was done */
function notice(text) {
  setMessage($("tracks-notice"), text);
}

/**
 * @param {Track} track
 * @param {number} status 1 to start, 0 to stop
 * @param {HTMLButtonElement} btn
 */
async function setTrackStatus(track, status, btn) {
  btn.disabled = true;
  setMessage($("tracks-error"), "");
  try {
    await call("ModifyAuditTrack", { TrackId: track.TrackId, Status: status });
    notice(t(status ? "tracks.started" : "tracks.stopped", { name: track.Name }));
    await loadTracks();
  } catch (e) {
    btn.disabled = false;
    if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
  }
}

/**
 * @param {Track} track
 * @param {HTMLButtonElement} btn
 */
async function deleteTrack(track, btn) {
  if (!(await confirmDialog(t("tracks.confirmDelete", { name: track.Name })))) { btn.focus(); return; }
  setMessage($("tracks-error"), "");
  try {
    await call("DeleteAuditTrack", { TrackId: track.TrackId });
    notice(t("tracks.deleted", { name: track.Name }));
    if (state.editing && state.editing.TrackId === track.TrackId) closeTrackForm();
    await loadTracks();
  } catch (e) {
    if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
  }
}

// ---- the form --------------------------------------------------------------------------------------

async function loadRegions() {
  if (state.regions.length) return;
  try {
    const r = await call("ListCosEnableRegion", { WebsiteType: state.lang });
    state.regions = r.EnableRegions || [];
  } catch (e) {
    state.regions = [];
    if (e.status !== 401) setMessage($("track-form-error"), errorText(e));
  }
}

/** @param {string} [selected] kept even when the regions do not list it */
function fillRegions(selected) {
  const sel = $("track-region");
  sel.textContent = "";
  for (const r of state.regions) sel.append(h("option", { value: r.CosRegion, text: r.CosRegionName && r.CosRegionName !== r.CosRegion ? `${r.CosRegionName} (${r.CosRegion})` : r.CosRegion }));
  if (selected && !state.regions.some((r) => r.CosRegion === selected)) sel.append(h("option", { value: selected, text: selected }));
  if (selected) sel.value = selected;
}

/** @param {"single" | "multi"} mode one product filter, or several */
function setTrackMode(mode) {
  state.trackMode = mode;
  $("track-mode-single").setAttribute("aria-pressed", String(mode === "single"));
  $("track-mode-multi").setAttribute("aria-pressed", String(mode === "multi"));
  show($("track-single"), mode === "single");
  show($("track-multi"), mode === "multi");
  if (mode === "multi" && !$("track-fields").children.length) {
    addFieldRow({ ResourceType: $("track-resource-type").value || "*", ActionType: $("track-action-type").value, EventNames: splitNames($("track-event-names").value) });
  }
}

/** @param {Partial<ResourceField>} f */
function addFieldRow(f) {
  const wrap = $("track-fields");
  const n = wrap.children.length + 1;
  const rt = h("input", { class: "field-resource-type", "data-testid": "field-resource-type", spellcheck: "false", "aria-label": `${t("form.resourceType")} ${n}` });
  rt.value = f.ResourceType || "*";
  const at = h("select", { class: "field-action-type", "data-testid": "field-action-type", "aria-label": `${t("form.actionType")} ${n}` },
    h("option", { value: "*", text: t("actionType.any") }), h("option", { value: "Read", text: t("action.Read") }), h("option", { value: "Write", text: t("action.Write") }));
  at.value = f.ActionType || "*";
  const names = h("input", { class: "field-event-names", "data-testid": "field-event-names", spellcheck: "false", "aria-label": `${t("form.eventNames")} ${n}`,
    placeholder: t("form.eventNamesHint") });
  names.value = (f.EventNames || ["*"]).join(", ");
  const remove = h("button", { type: "button", class: "btn btn-quiet btn-icon", "data-testid": "field-remove", "aria-label": t("form.fieldRemove"), title: t("form.fieldRemove"), text: "×" });
  const row = h("div", { class: "track-field-row", "data-testid": "track-field-row" },
    h("label", { class: "field" }, h("span", { text: t("form.resourceType") }), rt),
    h("label", { class: "field" }, h("span", { text: t("form.actionType") }), at),
    h("label", { class: "field field-wide" }, h("span", { text: t("form.eventNames") }), names),
    remove);
  remove.addEventListener("click", () => { row.remove(); $("track-field-add").focus(); });
  wrap.append(row);
  return row;
}

export function renderTrackFormTitle() {
  const e = state.editing;
  $("track-form-title").textContent = e ? t("form.editTitle", { name: e.Name }) : t("form.createTitle");
  $("track-save").textContent = e ? t("form.update") : t("form.create");
}

/** @param {Track | null} listed the set to edit, as the list showed it; null for a new one */
async function openTrackForm(listed) {
  if (!isAdmin()) return;
  const form = $("track-form");
  setMessage($("track-form-error"), "");
  let track = listed;
  if (listed) {
    // Edit what the set is now, not what the list showed (it may be minutes old).
    try {
      track = { ...(await call("DescribeAuditTrack", { TrackId: listed.TrackId })), TrackId: listed.TrackId };
    } catch (e) {
      if (e.status !== 401) setMessage($("tracks-error"), errorText(e));
      return;
    }
  }
  state.editing = track;
  renderTrackFormTitle();
  await loadRegions();
  const s = (track && track.Storage) || {};
  $("track-name").value = track ? track.Name : "";
  $("track-name").disabled = !!track;
  $("track-status").checked = track ? Number(track.Status) === 1 : true;
  $("track-fields").textContent = "";
  const filters = track ? filtersOf(track) : [{ ResourceType: "*", ActionType: "*", EventNames: ["*"] }];
  const multi = !!(track && track.Filters && track.Filters.ResourceFields && track.Filters.ResourceFields.length > 1);
  $("track-resource-type").value = filters[0].ResourceType || "*";
  $("track-action-type").value = filters[0].ActionType || "*";
  $("track-event-names").value = (filters[0].EventNames || ["*"]).join(", ");
  if (multi) for (const f of filters) addFieldRow(f);
  setTrackMode(multi ? "multi" : "single");
  fillRegions(s.StorageRegion || (state.regions[0] && state.regions[0].CosRegion));
  $("track-bucket").value = s.StorageName || "";
  $("track-prefix").value = s.StoragePrefix || "cloudaudit";
  $("track-compress").value = String(s.Compress || 1);
  form.hidden = false;
  (track ? $("track-resource-type") : $("track-name")).focus();
  form.scrollIntoView({ block: "nearest" });
}

function closeTrackForm() {
  $("track-form").hidden = true;
  state.editing = null;
}

/** @param {SubmitEvent} ev */
async function saveTrack(ev) {
  ev.preventDefault();
  const err = $("track-form-error");
  setMessage(err, "");
  const editing = state.editing;
  const { action, params } = trackSaveCall({
    editing,
    mode: state.trackMode,
    name: $("track-name").value.trim(),
    status: $("track-status").checked ? 1 : 0,
    storage: {
      StorageType: "cos",
      StorageRegion: $("track-region").value,
      StorageName: $("track-bucket").value.trim(),
      StoragePrefix: $("track-prefix").value.trim(),
      Compress: Number($("track-compress").value),
    },
    single: { ResourceType: $("track-resource-type").value.trim(), ActionType: $("track-action-type").value,
      EventNames: splitNames($("track-event-names").value) },
    fields: [...document.querySelectorAll("#track-fields .track-field-row")].map((row) => ({
      ResourceType: /** @type {HTMLInputElement} */ (row.querySelector(".field-resource-type")).value.trim(),
      ActionType: /** @type {HTMLSelectElement} */ (row.querySelector(".field-action-type")).value,
      EventNames: splitNames(/** @type {HTMLInputElement} */ (row.querySelector(".field-event-names")).value),
    })),
  });
  const btn = $("track-save");
  btn.disabled = true;
  btn.textContent = t("form.busy");
  try {
    await call(action, params);
    const name = editing ? editing.Name : params.Name;
    closeTrackForm();
    notice(t("tracks.saved", { name }));
    await loadTracks();
  } catch (e) {
    // The API's own message, verbatim, with its code.
    if (e.status !== 401) {
      err.textContent = "";
      err.append(h("span", { "data-testid": "track-form-error-message", text: e.message }), " ", h("code", { class: "muted small", text: e.code || "" }));
      err.hidden = false;
    }
  } finally {
    btn.disabled = false;
    renderTrackFormTitle();
  }
}

// ---- the view's own controls -------------------------------------------------------------------------

/** Nothing of one session's sets stays for the next one. */
export function resetTracks() {
  closeTrackForm();
  state.regions = [];
  state.tracksPage = 1;
  $("tracks-body").textContent = "";
  for (const id of ["tracks-status", "tracks-notice", "tracks-error"]) $(id).hidden = true;
  $("tracks-panel").dataset.state = "idle";
}

export function wireTracks() {
  $("tracks-refresh").addEventListener("click", loadTracks);
  $("tracks-prev").addEventListener("click", () => { state.tracksPage = Math.max(1, state.tracksPage - 1); loadTracks(); });
  $("tracks-next").addEventListener("click", () => { state.tracksPage += 1; loadTracks(); });
  $("track-form").addEventListener("submit", saveTrack);
  $("track-cancel").addEventListener("click", closeTrackForm);
  $("track-mode-single").addEventListener("click", () => setTrackMode("single"));
  $("track-mode-multi").addEventListener("click", () => setTrackMode("multi"));
  $("track-field-add").addEventListener("click", () => /** @type {HTMLInputElement} */ (addFieldRow({}).querySelector("input")).focus());
}
