// The shape of the console's modules (docs/console.md, "The page's files"): imports that resolve and
// have no cycles, one module that owns the state, and pure helpers that touch no DOM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, existsSync } from "node:fs";

const ASSETS = new URL("../../Sources/AuditConsole/Resources/assets/", import.meta.url);
const modules = readdirSync(ASSETS).filter((n) => n.endsWith(".js")).sort();
const source = (/** @type {string} */ name) => readFileSync(new URL(name, ASSETS), "utf8");
/** @type {Record<string, string[]>} each module's imports, by file name */
const imports = Object.fromEntries(modules.map((m) => [m, [...source(m).matchAll(/^import\b[^;]*?from\s+"([^"]+)"/gms)].map((x) => x[1])]));
const PURE = ["time.js", "query.js", "records.js", "paging.js", "tracking.js", "sse.js", "alerting.js"];

test("every import is a relative path to a module beside it", () => {
  assert.ok(modules.includes("app.js") && modules.length > 10, modules.join(" "));
  for (const [m, list] of Object.entries(imports)) {
    for (const spec of list) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `${m} imports ${spec}`);
      assert.ok(existsSync(new URL(spec, ASSETS)), `${m} imports ${spec}, which is not there`);
    }
  }
});

test("the imports have no cycles", () => {
  /** @type {Record<string, "open" | "done">} */
  const mark = {};
  /** @param {string} m @param {string[]} path */
  const visit = (m, path) => {
    if (mark[m] === "done") return;
    assert.notEqual(mark[m], "open", `cycle: ${[...path, m].join(" -> ")}`);
    mark[m] = "open";
    for (const spec of imports[m] || []) visit(spec.slice(2), [...path, m]);
    mark[m] = "done";
  };
  for (const m of modules) visit(m, []);
});

test("only state.js declares the page's state; the views import it", () => {
  for (const m of modules) {
    const declares = /^export const state\b/m.test(source(m));
    assert.equal(declares, m === "state.js", m);
  }
  for (const view of ["app.js", "session.js", "events.js", "live.js", "detail.js", "history.js", "tracks.js", "alerts.js"]) {
    assert.ok(imports[view].includes("./state.js"), `${view} imports the state`);
  }
});

test("the pure helpers import nothing and touch no DOM", () => {
  for (const m of PURE) {
    assert.deepEqual(imports[m], [], m);
    assert.doesNotMatch(source(m).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ""), /\b(document|window|localStorage|navigator|fetch)\b/, m);
  }
});

test("every module is type checked", () => {
  for (const m of modules) assert.match(source(m), /^\/\/ @ts-check\n/, m);
});
