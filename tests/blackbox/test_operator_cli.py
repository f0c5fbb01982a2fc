"""The command line as an operator meets it: how commands end on an error (one line and exit 1 for
what went wrong while running, usage and exit 64 only for a command line that does not parse),
`--version`, `keys enable`, `accounts rename` / `set-retention`, unique account names, the CLI's
User-Agent, `verify-event` without a refused call, and `--attr` hints."""

import re
import time

from support import (
    TencentCloudSDKException,
    clean_env,
    lookup,
    lookup_all,
    make_event,
    now,
    parse_json_output,
    poll,
    record_of,
    run_cli,
    uid,
)


def error_lines(p):
    return [l for l in p.stderr_text.splitlines() if l.strip()]


def assert_runtime_error(p, *needles):
    """Exit 1, one `Error: ...` line naming what is wrong, no usage."""
    lines = error_lines(p)
    assert p.returncode == 1, (p.returncode, p.stdout_text, p.stderr_text)
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr_text
    assert "Usage:" not in p.stderr_text
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert p.stdout_text == ""
    return lines[0]


def test_runtime_errors_are_one_line_and_exit_1(server):
    assert_runtime_error(server.cli("keys", "disable", "AKIDnoSuchKey" + uid(), check=False), "no access key AKIDnoSuchKey")
    assert_runtime_error(server.cli("keys", "enable", "AKIDnoSuchKey" + uid(), check=False), "no access key")
    assert_runtime_error(server.cli("keys", "create", "--account", "999999999999", "--role", "auditor", check=False),
                         "999999999999", "does not exist")
    assert_runtime_error(server.cli("accounts", "rename", "--account", "999999999999", "--name", uid(), check=False),
                         "account 999999999999 does not exist")


def test_usage_errors_keep_the_usage_and_exit_64(server):
    p = server.cli("accounts", "set-retention", "--account", "100000000001", check=False)
    assert p.returncode == 64, (p.returncode, p.stderr_text)
    assert p.stderr_text.startswith("Error: give either --days N or --default"), p.stderr_text
    assert "Usage: cloudaudit accounts set-retention" in p.stderr_text
    p = server.cli("accounts", "set-retention", "--account", "100000000001", "--days", "0", check=False)
    assert p.returncode == 64 and "--days must be between 1 and 3650" in p.stderr_text


def test_version():
    p = run_cli(["--version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+ \(API cloudaudit 2019-03-19\)\n", p.stdout_text), p.stdout_text


def test_keys_enable_gives_a_disabled_key_back(tenant):
    auditor = tenant.key("auditor")
    lookup(auditor)
    out = parse_json_output(tenant.server.cli("keys", "disable", auditor.secret_id))
    assert out == {"SecretId": auditor.secret_id, "Status": "disabled"}
    try:
        lookup(auditor)
        raise AssertionError("a disabled key was accepted")
    except TencentCloudSDKException as e:
        assert e.code == "AuthFailure.SecretIdNotFound"
        assert "keys list" not in e.message, "a remote caller is not told to run an operator's command: %s" % e.message
    out = parse_json_output(tenant.server.cli("keys", "enable", auditor.secret_id))
    assert out == {"SecretId": auditor.secret_id, "Status": "enabled"}
    lookup(auditor)  # accepted again, from the next request
    listed = [k for k in parse_json_output(tenant.server.cli("keys", "list", "--account", str(tenant.account_id)))
              if k["SecretId"] == auditor.secret_id]
    assert listed[0]["Status"] == "enabled"


def test_account_names_are_unique_and_accounts_can_be_renamed(server):
    name = uid("Acme")
    a = server.create_account(name)
    # the same name again, in another case and with spaces around it
    p = server.cli("accounts", "create", "--name", "  " + name.upper() + " ", check=False)
    assert_runtime_error(p, "--name", "account %d is already named \"%s\"" % (a["AccountId"], name), "choose another name")
    b = server.create_account()
    assert_runtime_error(server.cli("accounts", "rename", "--account", str(b["AccountId"]), "--name", name.lower(), check=False),
                         "already named")
    new_name = uid("Renamed")
    out = parse_json_output(server.cli("accounts", "rename", "--account", str(b["AccountId"]), "--name", new_name))
    assert out == {"AccountId": b["AccountId"], "Name": new_name}
    listed = {x["AccountId"]: x["Name"] for x in parse_json_output(server.cli("accounts", "list"))}
    assert listed[b["AccountId"]] == new_name and listed[a["AccountId"]] == name
    # the old name is free again
    server.create_account(b["Name"])


def test_set_retention_changes_what_searches_accept(new_tenant):
    t = new_tenant()
    eight_days_ago = now() - 8 * 86400
    lookup(t.admin, start=eight_days_ago, end=now())  # within the default 30 days
    out = parse_json_output(t.server.cli("accounts", "set-retention", "--account", str(t.account_id), "--days", "7"))
    assert out == {"AccountId": t.account_id, "RetentionDays": 7, "IsDefault": False}
    try:
        lookup(t.admin, start=eight_days_ago, end=now())
        raise AssertionError("a StartTime older than the new retention was accepted")
    except TencentCloudSDKException as e:
        assert e.code == "LimitExceeded.OverTime" and "retention of 7 days" in e.message, e.message
    listed = [x for x in parse_json_output(t.server.cli("accounts", "list")) if x["AccountId"] == t.account_id]
    assert listed[0]["RetentionDays"] == 7
    out = parse_json_output(t.server.cli("accounts", "set-retention", "--account", str(t.account_id), "--default"))
    assert out == {"AccountId": t.account_id, "RetentionDays": 30, "IsDefault": True}
    lookup(t.admin, start=eight_days_ago, end=now())


def _cli_env(key):
    return clean_env(TENCENTCLOUD_SECRET_ID=key.secret_id, TENCENTCLOUD_SECRET_KEY=key.secret_key)


def test_the_cli_names_itself_in_user_agent(tenant):
    marker = uid("ua")
    p = run_cli(["events", "lookup", "--start", "-1h", "--attr", "EventSource=" + marker, "--endpoint", tenant.server.url,
                 "--output", "json"], env=_cli_env(tenant.admin))
    assert p.returncode == 0
    version = run_cli(["--version"]).stdout_text.split()[0]

    def recorded():
        return [e for e in lookup_all(tenant.admin, [("EventSource", "cloudaudit.api"), ("EventName", "LookUpEvents")])
                if record_of(e).get("userAgent", "").startswith("cloudaudit-cli/")]
    found = poll(recorded, timeout=10)
    assert found, "the CLI's LookUpEvents is recorded with its User-Agent"
    assert record_of(found[0])["userAgent"] == "cloudaudit-cli/" + version


def test_verify_event_makes_no_refused_call(tenant):
    ingest = tenant.key("ingest")
    ev = make_event(uid("ve"))
    ingest.put_ok([ev])
    pub = run_cli(["keys", "signing-public", "--data-dir", tenant.server.data_dir], env=tenant.server.cli_env()).stdout_text.split("\n")[0]
    start = int(time.time()) - 1
    p = run_cli(["verify-event", ev["eventId"], "--public-key", pub, "--endpoint", tenant.server.url], check=False,
                env=_cli_env(tenant.admin))
    assert p.returncode == 0, p.stdout_text + p.stderr_text

    def calls():
        return [e for e in lookup_all(tenant.admin, [("EventSource", "cloudaudit.api")], start=start)
                if e["EventName"] in ("GetInclusionProof", "LookUpEvents")]
    seen = poll(lambda: (lambda c: c if {"GetInclusionProof", "LookUpEvents"} <= {e["EventName"] for e in c} else None)(calls()),
                timeout=10)
    assert seen, "verify-event's two calls are recorded"
    refused = [(e["EventName"], record_of(e).get("errorCode"), record_of(e).get("errorMessage")) for e in seen
               if record_of(e).get("errorCode", 0) not in (0, None)]
    assert refused == [], "verify-event made a call the server refused: %r" % refused


def test_attr_with_a_miscased_key_names_the_right_one(tenant):
    p = run_cli(["events", "lookup", "--start", "-1h", "--attr", "UserName=alice", "--endpoint", tenant.server.url],
                check=False, env=_cli_env(tenant.admin))
    assert p.returncode == 64
    assert "--attr UserName=...: the key is Username" in p.stderr_text, p.stderr_text
    p = run_cli(["events", "lookup", "--start", "-1h", "--attr", "Nope=1", "--endpoint", tenant.server.url],
                check=False, env=_cli_env(tenant.admin))
    assert p.returncode == 2 and "InvalidParameterValue.attributeKey" in p.stderr_text, "an unknown key is the server's to refuse"
    # the server says the same to any client
    try:
        lookup(tenant.admin, attrs=[("userName", "alice")])
        raise AssertionError("an unknown key was accepted")
    except TencentCloudSDKException as e:
        assert e.code == "InvalidParameterValue.attributeKey" and "Did you mean Username?" in e.message, e.message
