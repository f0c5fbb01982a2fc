"""Pagination: stable cursors under concurrent ingestion, ListOver, TotalCount, and NextToken that
cannot be tampered with, moved to another account, or reused for another query."""

import threading
import time

import pytest

from support import (
    TencentCloudSDKException,
    describe,
    expect_error,
    ids_of,
    lookup,
    lookup_all,
    make_event,
    now,
    put_events,
    uid,
)


def _paginate_while_adding(tenant, page_size, action):
    src = uid("pg")
    t0 = now() - 100
    n = 60
    # Only three distinct seconds: the cursor must break ties, not just remember a time.
    initial = [make_event(src, "Initial%d" % (i % 4), eventTime=t0 - (i % 3)) for i in range(n)]
    initial_ids = tenant.admin.put_ok(initial)
    assert len(set(initial_ids)) == n

    stop = threading.Event()
    added, errors = [], []

    def adder():
        client = tenant.admin.common()
        i = 0
        while not stop.is_set():
            batch = []
            for j in range(3):
                # some newer than everything, some inside the seconds being paged through
                et = now() if (i + j) % 2 else t0 - ((i + j) % 3)
                batch.append(make_event(src, "Added", eventTime=et))
            try:
                r = put_events(client, batch)
                assert not r.get("FailedEvents"), r.get("FailedEvents")
                added.extend(r["EventIds"])
            except Exception as e:  # reported below
                errors.append(e)
                return
            i += 1
            time.sleep(0.02)

    th = threading.Thread(target=adder, daemon=True)
    th.start()
    time.sleep(0.1)  # the adder is running before the first page
    pages = []
    try:
        seen = ids_of(lookup_all(tenant.admin, [("EventSource", src)], start=t0 - 600, end=now() + 300,
                                 page=page_size, action=action, pages_out=pages))
    finally:
        stop.set()
        th.join(timeout=30)
    assert not errors, "concurrent PutEvents failed: %r" % errors
    assert added, "the adder thread never stored anything while paging"
    dupes = sorted({i for i in seen if seen.count(i) > 1})
    assert not dupes, "events repeated across pages: %r" % dupes[:10]
    missing = set(initial_ids) - set(seen)
    assert not missing, "%d of the %d events present at the start were skipped" % (len(missing), n)
    # Newest first across page boundaries.
    times = []
    for p in pages:
        times += [int(e["EventTime"]) for e in p["Events"] if e["EventId"] in set(initial_ids)]
    assert times == sorted(times, reverse=True), "pages are not newest first"


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_lookup_pagination_stable_under_concurrent_ingest(tenant, page_size):
    _paginate_while_adding(tenant, page_size, "LookUpEvents")


@pytest.mark.parametrize("page_size", [1, 7, 50])
def test_describe_pagination_stable_under_concurrent_ingest(tenant, page_size):
    _paginate_while_adding(tenant, page_size, "DescribeEvents")


@pytest.mark.parametrize("fn", [lookup, describe], ids=["LookUpEvents", "DescribeEvents"])
def test_list_over_and_total_count(tenant, fn):
    src = uid("src")
    recs = [make_event(src, eventTime=now() - i) for i in range(12)]
    tenant.admin.put_ok(recs)
    q = [("EventSource", src)]
    r1 = fn(tenant.admin, attrs=q, max_results=5)
    assert len(r1["Events"]) == 5 and r1["ListOver"] is False and r1["TotalCount"] == 12, _meta(r1)
    r2 = fn(tenant.admin, attrs=q, max_results=5, next_token=r1["NextToken"])
    assert len(r2["Events"]) == 5 and r2["ListOver"] is False and r2["TotalCount"] == 12, _meta(r2)
    r3 = fn(tenant.admin, attrs=q, max_results=5, next_token=r2["NextToken"])
    assert len(r3["Events"]) == 2 and r3["ListOver"] is True and r3["TotalCount"] == 12, _meta(r3)
    assert ids_of(r1["Events"] + r2["Events"] + r3["Events"]) == [e["eventId"] for e in recs]


@pytest.mark.parametrize("fn", [lookup, describe], ids=["LookUpEvents", "DescribeEvents"])
def test_list_over_when_page_is_exactly_full(tenant, fn):
    src = uid("src")
    tenant.admin.put_ok([make_event(src) for _ in range(6)])
    r = fn(tenant.admin, attrs=[("EventSource", src)], max_results=6)
    assert len(r["Events"]) == 6
    assert r["ListOver"] is True, "the only page is the last page: %r" % _meta(r)


@pytest.mark.parametrize("fn", [lookup, describe], ids=["LookUpEvents", "DescribeEvents"])
def test_no_match_gives_empty_last_page(tenant, fn):
    r = fn(tenant.admin, attrs=[("EventSource", uid("nothing"))])
    assert (r["Events"] or []) == []
    assert r["ListOver"] is True
    assert r["TotalCount"] == 0


def _meta(r):
    return {k: v for k, v in r.items() if k != "Events"}


def _first_token(key, src, n=6, page=2):
    key.put_ok([make_event(src, eventTime=now() - i) for i in range(n)])
    r = lookup(key, attrs=[("EventSource", src)], max_results=page)
    assert r["ListOver"] is False
    tok = r["NextToken"]
    assert isinstance(tok, str) and tok
    return tok


def _flip(tok, pos):
    """Replace one character by its neighbour in the same class, so the token stays decodable (hex,
    base64, base64url) but means something else."""
    c = tok[pos]
    if c.isdigit():
        repl = str((int(c) + 1) % 10)
    elif "a" <= c <= "z":
        repl = chr((ord(c) - 97 + 1) % 26 + 97)
    elif "A" <= c <= "Z":
        repl = chr((ord(c) - 65 + 1) % 26 + 65)
    else:
        repl = "A"
    return tok[:pos] + repl + tok[pos + 1:]


def test_next_token_flipped_character_is_rejected(tenant):
    src = uid("src")
    tok = _first_token(tenant.admin, src)
    # the token itself works
    assert lookup(tenant.admin, attrs=[("EventSource", src)], max_results=2, next_token=tok)["Events"]
    for pos in sorted({0, len(tok) // 3, len(tok) // 2, (2 * len(tok)) // 3}):
        bad = _flip(tok, pos)
        assert bad != tok
        expect_error("InvalidParameterValue", lookup, tenant.admin, attrs=[("EventSource", src)], max_results=2,
                     next_token=bad)


def test_next_token_garbage_is_rejected(tenant):
    for bad in ("garbage", "eyJhY2NvdW50IjoxfQ==", "0", "A" * 200):
        expect_error("InvalidParameterValue", lookup, tenant.admin, max_results=2, next_token=bad)


def test_next_token_from_another_account_is_rejected(tenant, tenant2):
    src = uid("src")
    tok = _first_token(tenant.admin, src)
    # Same query, other account: must not be accepted (let alone reveal account A's events).
    tenant2.admin.put_ok([make_event(src)])
    expect_error("InvalidParameterValue", lookup, tenant2.admin, attrs=[("EventSource", src)], max_results=2,
                 next_token=tok)


def test_next_token_reused_with_another_query_is_rejected(tenant):
    src, other = uid("src"), uid("src")
    tok = _first_token(tenant.admin, src)
    tenant.admin.put_ok([make_event(other) for _ in range(3)])
    expect_error("InvalidParameterValue", lookup, tenant.admin, attrs=[("EventSource", other)], max_results=2,
                 next_token=tok)
    expect_error("InvalidParameterValue", lookup, tenant.admin, attrs=[("EventSource", src), ("ActionType", "Write")],
                 max_results=2, next_token=tok)


def test_describe_next_token_cannot_reach_another_account(tenant, tenant2):
    src = uid("src")
    a_recs = [make_event(src, eventTime=now() - i) for i in range(6)]
    tenant.admin.put_ok(a_recs)
    tenant2.admin.put_ok([make_event(src)])
    r = describe(tenant.admin, attrs=[("EventSource", src)], max_results=2)
    assert r["ListOver"] is False
    tok = r["NextToken"]
    assert isinstance(tok, int), "DescribeEvents NextToken is an unsigned integer: %r" % tok
    a_ids = {e["eventId"] for e in a_recs}
    for t in (tok, tok + 1, max(tok - 1, 0), 1):
        try:
            r2 = describe(tenant2.admin, attrs=[("EventSource", src)], max_results=50, next_token=t)
        except TencentCloudSDKException as e:
            assert e.code == "InvalidParameterValue", "a foreign DescribeEvents token: %s %s" % (e.code, e.message)
            continue
        leaked = a_ids & set(ids_of(r2["Events"]))
        assert not leaked, "account B read account A's events with a DescribeEvents NextToken"
        assert all(e["AccountID"] == tenant2.account_id for e in r2["Events"])
