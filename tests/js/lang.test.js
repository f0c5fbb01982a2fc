// Unit tests of lang.js and the label table of i18n.js.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { TEXT, LANGUAGES } from "../../Sources/AuditConsole/Resources/assets/i18n.js";
import { translate, pickLanguage } from "../../Sources/AuditConsole/Resources/assets/lang.js";

const ASSETS = new URL("../../Sources/AuditConsole/Resources/assets/", import.meta.url);
const PAGE = new URL("../../Sources/AuditConsole/Resources/index.html", import.meta.url);

test("translate fills placeholders and leaves unknown ones as they are", () => {
  assert.equal(translate("en", "history.count", { n: 3 }), "3 events, oldest first");
  assert.equal(translate("en", "results.count", { shown: 50 }), TEXT.en["results.count"].replace("{shown}", "50"));
  assert.ok(translate("en", "results.count", { shown: 50 }).includes("{total}"));
});

test("translate picks the singular for a count of one: 1 event, 2 events", () => {
  assert.equal(translate("en", "stats.total", { n: 1 }), "1 matching event");
  assert.equal(translate("en", "stats.total", { n: 0 }), "0 matching events");
  assert.equal(translate("en", "stats.total", { n: "1,204" }), "1,204 matching events");
  assert.equal(translate("en", "delivery.files", { files: 1, events: 2 }), "1 file, 2 events");
  assert.equal(translate("en", "delivery.files", { files: 3, events: 1 }), "3 files, 1 event");
  assert.equal(translate("en", "stats.total", {}), "{n} matching {n|event|events}", "without the count, as it is");
  assert.equal(translate("zh", "stats.total", { n: 1 }), "共 1 条匹配事件");
});

test("no English label says \"1 events\": every count next to a noun has its singular", () => {
  for (const [key, label] of Object.entries(TEXT.en)) {
    for (const m of label.matchAll(/\{(\w+)\} (events|files)\b/g)) assert.fail(`${key}: "{${m[1]}} ${m[2]}" has no singular form`);
  }
});

test("translate falls back to English, then to the key", () => {
  assert.equal(translate("zh", "nav.events"), TEXT.zh["nav.events"]);
  assert.notEqual(TEXT.zh["nav.events"], TEXT.en["nav.events"]);
  assert.equal(translate("fr", "nav.events"), TEXT.en["nav.events"]);
  assert.equal(translate("zh", "no.such.key"), "no.such.key");
});

test("pickLanguage: the saved choice when known, else Chinese for a browser that prefers it", () => {
  assert.equal(pickLanguage("zh", "en-US"), "zh");
  assert.equal(pickLanguage("en", "zh-CN"), "en");
  assert.equal(pickLanguage("fr", "zh-TW"), "zh");
  assert.equal(pickLanguage(null, "ZH"), "zh");
  assert.equal(pickLanguage(null, "de-DE"), "en");
});

/** @param {string} s */
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("every language has every label, with the same placeholders", () => {
  assert.deepEqual(Object.keys(TEXT).sort(), [...LANGUAGES].sort());
  const keys = Object.keys(TEXT.en).sort();
  for (const lang of LANGUAGES) {
    assert.deepEqual(Object.keys(TEXT[lang]).sort(), keys, lang);
    for (const k of keys) assert.deepEqual(placeholders(TEXT[lang][k]), placeholders(TEXT.en[k]), `${lang} ${k}`);
  }
});

test("every label the page and its modules name is in the table", () => {
  const used = new Set();
  for (const name of readdirSync(ASSETS).filter((n) => n.endsWith(".js"))) {
    const src = readFileSync(new URL(name, ASSETS), "utf8");
    for (const m of src.matchAll(/\bt\("([^"]+)"\s*[,)]/g)) used.add(m[1]);
    for (const m of src.matchAll(/"data-i18n": "([^"]+)"/g)) used.add(m[1]);
  }
  for (const m of readFileSync(PAGE, "utf8").matchAll(/data-i18n(?:-title|-aria)?="([^"]+)"/g)) used.add(m[1]);
  assert.ok(used.size > 100, `found ${used.size} labels`);
  assert.deepEqual([...used].filter((k) => !(k in TEXT.en)), []);
});
