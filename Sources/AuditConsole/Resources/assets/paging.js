// @ts-check
/**
 * Paging through the API's lists: following NextToken to the end of a listing (the resource
 * history), and counting the pages of a numbered one (tracking sets). Pure: no DOM, the calls are
 * given (tests/js/paging.test.js).
 */

/**
 * One page of a NextToken listing, as LookUpEvents answers.
 * @template T
 * @typedef {{Events?: T[], NextToken?: string | null, ListOver?: boolean}} TokenPage
 */

/**
 * Reads a listing page after page, each with the NextToken of the one before, until it is over
 * (ListOver, or no NextToken) or holds at least `cap` items.
 * @template T
 * @param {(token: string | null) => Promise<TokenPage<T>>} fetchPage asked for the first page with null
 * @param {number} cap
 * @param {(items: T[]) => boolean} onPage told of every page with all items so far; false stops the
 *   reading (an answer nobody waits for any more) and the result is null
 * @returns {Promise<{items: T[], capped: boolean} | null>} capped when the listing went on past the cap
 */
export async function readAllPages(fetchPage, cap, onPage) {
  /** @type {T[]} */
  const items = [];
  let token = null;
  for (;;) {
    /** @type {TokenPage<T>} */
    const r = await fetchPage(token);
    items.push(...(r.Events || []));
    if (!onPage(items)) return null;
    if (r.ListOver || !r.NextToken) return { items, capped: false };
    if (items.length >= cap) return { items, capped: true };
    token = r.NextToken;
  }
}

/**
 * Pages of a numbered list of `total` items, one at least.
 * @param {number} total
 * @param {number} pageSize
 */
export function pageCount(total, pageSize) {
  return Math.max(1, Math.ceil(total / pageSize));
}
