"""Accounts never see each other's data; each role's limits (admin, auditor, ingest, service);
disabled keys; the admin CLI for accounts and keys."""

import pytest

from support import (
    TencentCloudSDKException,
    describe,
    expect_error,
    get_attribute_key,
    ids_of,
    lookup,
    lookup_all,
    make_event,
    parse_json_output,
    poll,
    uid,
)


def _ui(account_id=None, **kw):
    base = {"type": "CAMUser", "principalId": "100000009001", "secretId": "AKIDexample0001", "userName": "alice"}
    if account_id is not None:
        base["accountId"] = account_id
    base.update(kw)
    return base


# ---- isolation


def test_two_accounts_never_see_each_other(tenant, tenant2):
    src = uid("shared")  # the same source and names in both accounts
    a = [make_event(src, "Same") for _ in range(3)]
    b = [make_event(src, "Same") for _ in range(2)]
    tenant.admin.put_ok(a)
    tenant2.admin.put_ok(b)
    a_ids, b_ids = {e["eventId"] for e in a}, {e["eventId"] for e in b}
    for t, mine, theirs in ((tenant, a_ids, b_ids), (tenant2, b_ids, a_ids)):
        for action in ("LookUpEvents", "DescribeEvents"):
            evs = lookup_all(t.admin, [("EventSource", src)], action=action)
            assert set(ids_of(evs)) == mine
            assert all(e["AccountID"] == t.account_id for e in evs)
        for other in theirs:
            assert (lookup(t.admin, attrs=[("EventId", other)])["Events"] or []) == []
        # nothing of the other account even without filters
        everything = ids_of(lookup_all(t.admin, [], action="LookUpEvents"))
        assert not (set(everything) & theirs)
        assert lookup(t.admin, attrs=[("EventName", "Same"), ("EventSource", src)])["TotalCount"] == len(mine)


def test_auditor_of_one_account_cannot_read_another(tenant, tenant2):
    src = uid("src")
    tenant2.admin.put_ok([make_event(src)])
    auditor = tenant.key("auditor")
    assert (lookup(auditor, attrs=[("EventSource", src)])["Events"] or []) == []
    assert (describe(auditor, attrs=[("EventSource", src)])["Events"] or []) == []


def test_admin_cannot_put_events_into_another_account(tenant, tenant2):
    src = uid("src")
    ok = make_event(src, userIdentity=_ui(account_id=tenant.account_id))
    foreign = make_event(src, userIdentity=_ui(account_id=tenant2.account_id))
    r = tenant.admin.put([ok, foreign])
    assert [(f["Index"], f["Code"]) for f in r.get("FailedEvents") or []] == [(1, "UnauthorizedOperation")]
    assert ids_of(lookup_all(tenant.admin, [("EventSource", src)])) == [ok["eventId"]]
    assert ids_of(lookup_all(tenant2.admin, [("EventSource", src)])) == []


# ---- roles


def test_admin_role_can_query_and_put(tenant):
    src = uid("src")
    tenant.admin.put_ok([make_event(src)])
    assert len(lookup(tenant.admin, attrs=[("EventSource", src)])["Events"]) == 1
    assert len(describe(tenant.admin, attrs=[("EventSource", src)])["Events"]) == 1
    assert get_attribute_key(tenant.admin)["AttributeKeyDetails"]


def test_auditor_role_is_read_only(tenant):
    src = uid("src")
    tenant.admin.put_ok([make_event(src)])
    auditor = tenant.key("auditor")
    assert auditor.role == "auditor"
    assert len(lookup(auditor, attrs=[("EventSource", src)])["Events"]) == 1
    assert len(describe(auditor, attrs=[("EventSource", src)])["Events"]) == 1
    assert get_attribute_key(auditor, "en")["AttributeKeyDetails"]
    expect_error("AuthFailure.UnauthorizedOperation", auditor.put, [make_event(src, "ByAuditor")])
    assert len(lookup(tenant.admin, attrs=[("EventSource", src)])["Events"]) == 1, "nothing stored"


def test_ingest_role_can_only_put_own_events(tenant, tenant2):
    src = uid("src")
    ingest = tenant.key("ingest")
    own_implicit = make_event(src)
    own_explicit = make_event(src, userIdentity=_ui(account_id=tenant.account_id))
    foreign = make_event(src, userIdentity=_ui(account_id=tenant2.account_id))
    r = ingest.put([own_implicit, foreign, own_explicit])
    assert [(f["Index"], f["Code"]) for f in r.get("FailedEvents") or []] == [(1, "UnauthorizedOperation")]
    assert sorted(ids_of(lookup_all(tenant.admin, [("EventSource", src)]))) == sorted(
        [own_implicit["eventId"], own_explicit["eventId"]])
    assert ids_of(lookup_all(tenant2.admin, [("EventSource", src)])) == []
    expect_error("AuthFailure.UnauthorizedOperation", lookup, ingest)
    expect_error("AuthFailure.UnauthorizedOperation", describe, ingest)
    expect_error("AuthFailure.UnauthorizedOperation", get_attribute_key, ingest)


@pytest.mark.parametrize("as_string", [False, True], ids=["accountId-number", "accountId-string"])
def test_service_role_puts_events_for_named_accounts(server, tenant, tenant2, new_tenant, as_string):
    platform = new_tenant()
    service = platform.key("service")
    src = uid("svc")

    def acct(t):
        return str(t.account_id) if as_string else t.account_id

    for_a = make_event(src, "ForA", userIdentity=_ui(account_id=acct(tenant)))
    for_b = make_event(src, "ForB", userIdentity=_ui(account_id=acct(tenant2)))
    ids = service.put_ok([for_a, for_b])
    assert ids == [for_a["eventId"], for_b["eventId"]]
    a = lookup_all(tenant.admin, [("EventSource", src)])
    b = lookup_all(tenant2.admin, [("EventSource", src)])
    assert ids_of(a) == [for_a["eventId"]] and a[0]["AccountID"] == tenant.account_id
    assert ids_of(b) == [for_b["eventId"]] and b[0]["AccountID"] == tenant2.account_id
    assert ids_of(lookup_all(platform.admin, [("EventSource", src)])) == [], "not stored in the service's own account"


def test_service_role_per_record_errors(tenant):
    platform_service = tenant.key("service")
    src = uid("svc")
    ok = make_event(src, userIdentity=_ui(account_id=tenant.account_id))
    nowhere = make_event(src, userIdentity=_ui(account_id=999999999999))
    missing = make_event(src, userIdentity=_ui())
    no_identity = make_event(src, userIdentity=None)
    r = platform_service.put([nowhere, ok, missing, no_identity])
    got = [(f["Index"], f["Code"]) for f in r.get("FailedEvents") or []]
    assert got == [(0, "ResourceNotFound"), (2, "MissingParameter"), (3, "MissingParameter")], got
    assert ids_of(lookup_all(tenant.admin, [("EventSource", src)])) == [ok["eventId"]]


def test_service_role_cannot_read(tenant):
    service = tenant.key("service")
    expect_error("AuthFailure.UnauthorizedOperation", lookup, service)
    expect_error("AuthFailure.UnauthorizedOperation", describe, service)


# ---- key lifecycle


def test_key_created_while_running_works_at_once(tenant):
    k = tenant.key("auditor")
    assert get_attribute_key(k)["AttributeKeyDetails"]


def test_disabled_key_is_refused(tenant):
    k = tenant.key("admin")
    src = uid("src")
    k.put_ok([make_event(src)])
    tenant.server.cli("keys", "disable", k.secret_id)

    def refused():
        try:
            lookup(k)
            return None
        except TencentCloudSDKException as e:
            return e

    e = poll(refused, timeout=5)
    assert e is not None, "a disabled key still works 5 s later"
    assert e.code == "AuthFailure.SecretIdNotFound", "%s %s" % (e.code, e.message)
    expect_error("AuthFailure.SecretIdNotFound", k.put, [make_event(src)])
    # other keys of the account are unaffected
    assert len(lookup(tenant.admin, attrs=[("EventSource", src)])["Events"]) == 1
    listed = {x["SecretId"]: x for x in parse_json_output(tenant.server.cli("keys", "list", "--account",
                                                                              str(tenant.account_id)))}
    assert listed[k.secret_id]["Status"] != listed[tenant.admin.secret_id]["Status"]


# ---- admin CLI


def test_accounts_create_and_list(server):
    name = uid("acme")
    a = server.create_account(name)
    assert a == {"AccountId": a["AccountId"], "Name": name}
    assert a["AccountId"] > 100000000001
    b = server.create_account(uid("acme"), retention_days=7)
    assert b["AccountId"] > a["AccountId"]
    listed = parse_json_output(server.cli("accounts", "list"))
    assert isinstance(listed, list)
    by_id = {x["AccountId"]: x for x in listed}
    assert 100000000001 in by_id, "the default account is listed"
    assert by_id[a["AccountId"]]["Name"] == name and by_id[a["AccountId"]]["RetentionDays"] == 30
    assert by_id[b["AccountId"]]["RetentionDays"] == 7


def test_keys_create_and_list_never_show_secrets(tenant):
    keys = [tenant.key(role) for role in ("admin", "auditor", "ingest", "service")]
    assert [k.role for k in keys] == ["admin", "auditor", "ingest", "service"]
    assert all(k.account_id == tenant.account_id for k in keys)
    assert len({k.secret_id for k in keys}) == 4 and len({k.secret_key for k in keys}) == 4
    p = tenant.server.cli("keys", "list", "--account", str(tenant.account_id))
    listed = parse_json_output(p)
    by_id = {x["SecretId"]: x for x in listed}
    for k in keys + [tenant.admin]:
        entry = by_id[k.secret_id]
        assert entry["AccountId"] == tenant.account_id and entry["Role"] == k.role
        assert "Status" in entry and "CreatedAt" in entry
        assert "SecretKey" not in entry
        assert k.secret_key not in p.stdout_text and k.secret_key not in p.stderr_text
    assert all(x["AccountId"] == tenant.account_id for x in listed), "--account filters"
    everything = tenant.server.cli("keys", "list")
    for k in keys:
        assert k.secret_key not in everything.stdout_text


def test_keys_create_rejects_bad_role_and_unknown_account(tenant):
    p = tenant.server.cli("keys", "create", "--account", str(tenant.account_id), "--role", "superuser", check=False)
    assert p.returncode != 0
    p = tenant.server.cli("keys", "create", "--account", "999999999999", "--role", "admin", check=False)
    assert p.returncode != 0


def test_secret_keys_are_not_stored_in_clear(tenant, server):
    k = tenant.key("admin")
    import glob
    import os

    for path in glob.glob(os.path.join(server.data_dir, "**", "*"), recursive=True):
        if os.path.isfile(path) and not path.endswith("root-credentials.json"):
            with open(path, "rb") as f:
                assert k.secret_key.encode() not in f.read(), "secret stored in clear in %s" % path
    # and wherever the backend keeps its data (a database server need not use the data directory)
    import storage_backend

    assert k.secret_key.encode() not in storage_backend.stored_bytes(server), "secret stored in clear by the backend"
