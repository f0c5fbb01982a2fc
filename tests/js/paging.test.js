// Unit tests of paging.js: following NextToken to the end of a listing, and counting pages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readAllPages, pageCount } from "../../Sources/AuditConsole/Resources/assets/paging.js";

/** A listing of `total` items served `size` at a time; `asked` records the tokens it was asked with. */
function listing(total, size, { listOver = true } = {}) {
  /** @type {(string | null)[]} */
  const asked = [];
  /** @param {string | null} token */
  const fetchPage = async (token) => {
    asked.push(token);
    const from = token ? Number(token.slice(1)) : 0;
    const to = Math.min(total, from + size);
    const Events = Array.from({ length: to - from }, (_, i) => from + i);
    if (to >= total) return listOver ? { Events, ListOver: true, NextToken: "t-end" } : { Events, ListOver: false };
    return { Events, ListOver: false, NextToken: "t" + to };
  };
  return { fetchPage, asked };
}

test("reads every page in order, each asked with the NextToken of the one before", async () => {
  const { fetchPage, asked } = listing(120, 50);
  const seen = [];
  const r = await readAllPages(fetchPage, 2000, (items) => { seen.push(items.length); return true; });
  assert.deepEqual(r, { items: Array.from({ length: 120 }, (_, i) => i), capped: false });
  assert.deepEqual(asked, [null, "t50", "t100"]);
  assert.deepEqual(seen, [50, 100, 120], "told of every page with all items so far");
});

test("a page without NextToken ends the listing even when ListOver is false", async () => {
  const { fetchPage, asked } = listing(30, 50, { listOver: false });
  const r = await readAllPages(fetchPage, 2000, () => true);
  assert.equal(r?.items.length, 30);
  assert.equal(r?.capped, false);
  assert.deepEqual(asked, [null]);
});

test("stops at the cap and says so when the listing goes on", async () => {
  const { fetchPage, asked } = listing(10000, 50);
  const r = await readAllPages(fetchPage, 120, () => true);
  assert.equal(r?.items.length, 150, "whole pages: the one that reached the cap is kept");
  assert.equal(r?.capped, true);
  assert.equal(asked.length, 3);
  const exact = await readAllPages(listing(100, 50).fetchPage, 100, () => true);
  assert.deepEqual([exact?.items.length, exact?.capped], [100, false], "a listing that ends at the cap is not capped");
});

test("onPage returning false stops the reading with null (an answer nobody waits for)", async () => {
  const { fetchPage, asked } = listing(500, 50);
  const r = await readAllPages(fetchPage, 2000, (items) => items.length < 100);
  assert.equal(r, null);
  assert.deepEqual(asked, [null, "t50"]);
});

test("a failed page rejects", async () => {
  const failing = async () => { throw new Error("LimitExceeded.OverTime"); };
  await assert.rejects(readAllPages(failing, 2000, () => true), /OverTime/);
});

test("pageCount: one page at least, a partial last page counts", () => {
  assert.equal(pageCount(0, 20), 1);
  assert.equal(pageCount(1, 20), 1);
  assert.equal(pageCount(20, 20), 1);
  assert.equal(pageCount(21, 20), 2);
  assert.equal(pageCount(200, 20), 10);
});
