"""Self-audit: calls to CloudAudit become events of the caller's account (eventSource cloudaudit.api,
resourceType cloudaudit, eventName = the action), written asynchronously; PutEvents is not recorded;
failed authentications are recorded with their errorCode."""

import time

from support import (
    Key,
    TencentCloudSDKException,
    describe,
    get_attribute_key,
    lookup,
    lookup_all,
    make_event,
    poll,
    random_secret_key,
    record_of,
    uid,
)


def _self_events(key, name=None):
    attrs = [("EventSource", "cloudaudit.api")]
    if name:
        attrs.append(("EventName", name))
    return lookup_all(key, attrs)


def _wait_for(key, name, pred=lambda e: True, timeout=5.0):
    return poll(lambda: [e for e in _self_events(key, name) if pred(e)], timeout=timeout, interval=0.25)


def test_lookup_events_call_is_self_audited(tenant):
    marker = uid("marker")
    t0 = int(time.time())
    lookup(tenant.admin, attrs=[("EventSource", marker)])
    found = _wait_for(tenant.admin, "LookUpEvents")
    assert found, "no cloudaudit.api/LookUpEvents event within 5 s"
    ev = found[0]
    assert ev["EventSource"] == "cloudaudit.api" and ev["EventName"] == "LookUpEvents"
    assert ev["AccountID"] == tenant.account_id
    assert int(ev["EventTime"]) >= t0 - 2
    rec = record_of(ev)
    assert rec["eventSource"] == "cloudaudit.api"
    assert rec["eventName"] == "LookUpEvents"
    assert rec["resourceType"] == "cloudaudit"
    assert rec["actionType"] == "Read"


def test_self_audit_records_the_calling_key(tenant):
    auditor = tenant.key("auditor")
    lookup(auditor, attrs=[("EventSource", uid("marker"))])
    found = _wait_for(tenant.admin, "LookUpEvents", lambda e: e.get("SecretId") == auditor.secret_id)
    assert found, "the self-audit event names the SecretId that made the call"
    assert record_of(found[0])["userIdentity"]["secretId"] == auditor.secret_id
    by_key = lookup(tenant.admin, attrs=[("AccessKeyId", auditor.secret_id), ("EventSource", "cloudaudit.api")])
    assert by_key["Events"], "AccessKeyId finds self-audit events of that key"


def test_other_read_actions_are_self_audited_as_read(tenant):
    describe(tenant.admin, attrs=[("EventSource", uid("marker"))])
    get_attribute_key(tenant.admin, "en")
    for name in ("DescribeEvents", "GetAttributeKey"):
        found = _wait_for(tenant.admin, name)
        assert found, "no self-audit event for %s" % name
        rec = record_of(found[0])
        assert rec["actionType"] == "Read" and rec["resourceType"] == "cloudaudit"


def test_put_events_is_not_self_audited(tenant):
    src = uid("src")
    tenant.admin.put_ok([make_event(src)])
    tenant.admin.put_ok([make_event(src)])
    # a later call acts as a barrier: once its self-audit event is visible, PutEvents' would be too
    lookup(tenant.admin, attrs=[("EventSource", uid("barrier"))])
    assert _wait_for(tenant.admin, "LookUpEvents"), "barrier self-audit event never appeared"
    time.sleep(0.5)
    assert _self_events(tenant.admin, "PutEvents") == [], "PutEvents must not be recorded"


def test_self_audit_events_are_only_in_the_callers_account(tenant, tenant2):
    get_attribute_key(tenant.admin)
    assert _wait_for(tenant.admin, "GetAttributeKey")
    assert not [e for e in _self_events(tenant2.admin, "GetAttributeKey")
                if e.get("SecretId") == tenant.admin.secret_id]


def test_failed_authentication_is_recorded_with_error_code(tenant):
    wrong = Key(tenant.server, tenant.admin.secret_id, random_secret_key(), tenant.account_id, "admin")
    try:
        lookup(wrong, attrs=[("EventSource", uid("marker"))])
    except TencentCloudSDKException as e:
        assert e.code == "AuthFailure.SignatureFailure"

    def failed():
        return [e for e in _self_events(tenant.admin)
                if (e.get("ErrorCode") or 0) != 0 or record_of(e).get("errorCode") not in (0, "0", None, "")]

    found = poll(failed, timeout=5.0, interval=0.25)
    assert found, "a failed authentication with this account's SecretId was not recorded with its errorCode"
    rec = record_of(found[0])
    assert rec["eventSource"] == "cloudaudit.api"
    assert rec["userIdentity"]["secretId"] == tenant.admin.secret_id
