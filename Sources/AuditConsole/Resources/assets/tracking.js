// @ts-check
/**
 * Tracking sets as the API describes and takes them: their product filters, and the action and
 * parameters that save the form. Pure: no DOM (tests/js/tracking.test.js).
 */

/**
 * One product filter.
 * @typedef {{ResourceType: string, ActionType: string, EventNames: string[]}} ResourceField
 */
/**
 * Where a set delivers. Compress: 1 gzip, 2 plain JSON.
 * @typedef {{StorageType?: string, StorageRegion?: string, StorageName?: string, StoragePrefix?: string, Compress?: number}} Storage
 */
/**
 * A tracking set as DescribeAuditTracks lists it, with the Filters of DescribeAuditTrack when read.
 * @typedef {{TrackId: number, Name: string, Status: number, ResourceType: string, ActionType: string,
 *   EventNames?: string[], Filters?: {ResourceFields?: ResourceField[]}, Storage?: Storage}} Track
 */

/**
 * The set's product filters: the multi-product ones when it has them, else its one filter.
 * @param {Track} track
 * @returns {ResourceField[]}
 */
export function filtersOf(track) {
  const f = track.Filters && track.Filters.ResourceFields;
  if (f && f.length) return f;
  return [{ ResourceType: track.ResourceType, ActionType: track.ActionType, EventNames: track.EventNames || [] }];
}

/**
 * Event names typed comma-separated, trimmed, empty ones left out.
 * @param {string | null | undefined} text
 */
export function splitNames(text) {
  return String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
}

/**
 * Whether the form's storage differs from the set's (only then does an update send Storage).
 * @param {Track} track
 * @param {Storage} s
 */
export function storageChanged(track, s) {
  const o = track.Storage || {};
  return o.StorageRegion !== s.StorageRegion || o.StorageName !== s.StorageName || o.StoragePrefix !== s.StoragePrefix || Number(o.Compress || 1) !== s.Compress;
}

/**
 * What the form holds.
 * @typedef {{editing: Track | null, mode: "single" | "multi", name: string, status: number, storage: Storage,
 *   single: ResourceField, fields: ResourceField[]}} TrackForm
 */

/**
 * The API call that saves the form: Create/Modify, AuditTrack for one product filter or
 * EventsAuditTrack for several. An update names the set and sends Storage only when it changed; a
 * new set sends its Name and Storage.
 * @param {TrackForm} form
 * @returns {{action: string, params: Record<string, unknown>}}
 */
export function trackSaveCall(form) {
  const editing = form.editing;
  let action;
  /** @type {Record<string, unknown>} */
  let params;
  if (form.mode === "multi") {
    params = { Filters: { ResourceFields: form.fields } };
    action = editing ? "ModifyEventsAuditTrack" : "CreateEventsAuditTrack";
  } else {
    params = { ResourceType: form.single.ResourceType, ActionType: form.single.ActionType, EventNames: form.single.EventNames };
    action = editing ? "ModifyAuditTrack" : "CreateAuditTrack";
  }
  if (editing) {
    params.TrackId = editing.TrackId;
    params.Status = form.status;
    if (storageChanged(editing, form.storage)) params.Storage = form.storage;
  } else {
    params.Name = form.name;
    params.Status = form.status;
    params.Storage = form.storage;
  }
  return { action, params };
}
