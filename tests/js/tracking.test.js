// Unit tests of tracking.js: a tracking set's product filters and the call that saves the form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { filtersOf, splitNames, storageChanged, trackSaveCall } from "../../Sources/AuditConsole/Resources/assets/tracking.js";

const storage = { StorageType: "cos", StorageRegion: "local", StorageName: "bucket", StoragePrefix: "logs", Compress: 1 };
/** @type {import("../../Sources/AuditConsole/Resources/assets/tracking.js").Track} */
const listed = { TrackId: 7, Name: "all", Status: 1, ResourceType: "cvm", ActionType: "Write", EventNames: ["RunInstances"],
  Storage: { StorageRegion: "local", StorageName: "bucket", StoragePrefix: "logs" } };

test("filtersOf: the multi-product filters when the set has them, else its one filter", () => {
  assert.deepEqual(filtersOf(listed), [{ ResourceType: "cvm", ActionType: "Write", EventNames: ["RunInstances"] }]);
  const fields = [{ ResourceType: "cvm", ActionType: "*", EventNames: ["*"] }, { ResourceType: "cos", ActionType: "Read", EventNames: ["GetObject"] }];
  assert.deepEqual(filtersOf({ ...listed, Filters: { ResourceFields: fields } }), fields);
  assert.deepEqual(filtersOf({ ...listed, Filters: { ResourceFields: [] } })[0].ResourceType, "cvm");
  assert.deepEqual(filtersOf({ ...listed, EventNames: undefined })[0].EventNames, []);
});

test("splitNames trims and drops empty names", () => {
  assert.deepEqual(splitNames(" RunInstances, ,TerminateInstances,"), ["RunInstances", "TerminateInstances"]);
  assert.deepEqual(splitNames(""), []);
  assert.deepEqual(splitNames(undefined), []);
});

test("storageChanged compares region, bucket, prefix and compression (gzip when unset)", () => {
  assert.equal(storageChanged(listed, storage), false, "Compress unset is gzip (1)");
  assert.equal(storageChanged(listed, { ...storage, Compress: 2 }), true);
  assert.equal(storageChanged(listed, { ...storage, StoragePrefix: "other" }), true);
  assert.equal(storageChanged(listed, { ...storage, StorageName: "b2" }), true);
  assert.equal(storageChanged(listed, { ...storage, StorageRegion: "ap-guangzhou" }), true);
  assert.equal(storageChanged({ ...listed, Storage: undefined }, storage), true);
});

const single = { ResourceType: "cvm", ActionType: "Write", EventNames: ["RunInstances"] };
const fields = [single, { ResourceType: "cos", ActionType: "*", EventNames: ["*"] }];

test("a new set with one product filter: CreateAuditTrack with its name, status and storage", () => {
  assert.deepEqual(trackSaveCall({ editing: null, mode: "single", name: "new-set", status: 1, storage, single, fields: [] }), {
    action: "CreateAuditTrack",
    params: { ResourceType: "cvm", ActionType: "Write", EventNames: ["RunInstances"], Name: "new-set", Status: 1, Storage: storage },
  });
});

test("a new set with several: CreateEventsAuditTrack with Filters.ResourceFields", () => {
  assert.deepEqual(trackSaveCall({ editing: null, mode: "multi", name: "multi", status: 0, storage, single, fields }), {
    action: "CreateEventsAuditTrack",
    params: { Filters: { ResourceFields: fields }, Name: "multi", Status: 0, Storage: storage },
  });
});

test("an update names the set and sends Storage only when it changed", () => {
  assert.deepEqual(trackSaveCall({ editing: listed, mode: "single", name: "ignored", status: 0, storage, single, fields: [] }), {
    action: "ModifyAuditTrack",
    params: { ResourceType: "cvm", ActionType: "Write", EventNames: ["RunInstances"], TrackId: 7, Status: 0 },
  });
  const moved = { ...storage, StorageName: "elsewhere" };
  assert.deepEqual(trackSaveCall({ editing: listed, mode: "multi", name: "", status: 1, storage: moved, single, fields }), {
    action: "ModifyEventsAuditTrack",
    params: { Filters: { ResourceFields: fields }, TrackId: 7, Status: 1, Storage: moved },
  });
});
