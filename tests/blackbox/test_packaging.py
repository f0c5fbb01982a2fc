"""deploy/cloudaudit.service, checked by systemd's own tools (no systemd runs here): it parses, names a
binary that runs `serve --config`, has the hardening README's "Operating CloudAudit" promises, and
`systemd-analyze security` rates its exposure low. And deploy/cloudaudit.conf is a configuration file
that `serve --print-config` accepts."""

import re
import shutil
import subprocess
from pathlib import Path

from support import BIN, REPO, clean_env, run_cli

UNIT = REPO / "deploy" / "cloudaudit.service"


def _unit_with_this_binary(tmp_path):
    text = UNIT.read_text().replace("/usr/local/bin/cloudaudit", str(Path(BIN).resolve()))
    path = tmp_path / "cloudaudit.service"
    path.write_text(text)
    return path, text


def test_the_unit_file_verifies_and_is_hardened(tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (scripts/test installs the systemd package)"
    path, text = _unit_with_this_binary(tmp_path)
    p = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    for line in ["User=cloudaudit", "ProtectSystem=strict", "Restart=on-failure", "NoNewPrivileges=yes", "StateDirectory=cloudaudit",
                 "ExecReload=/bin/kill -HUP $MAINPID", "RestartPreventExitStatus=64"]:
        assert re.search("^" + re.escape(line) + "$", text, re.M), line
    # systemd's own rating of the sandbox: 0 is fully locked down, 10 is unprotected; 2.5 or less is "OK".
    p = subprocess.run([analyze, "security", "--offline=yes", "--threshold=25", str(path)], capture_output=True, text=True, timeout=60)
    exposure = re.search(r"Overall exposure level for cloudaudit.service: ([\d.]+)", p.stdout)
    assert exposure, p.stdout[-2000:] + p.stderr
    assert float(exposure.group(1)) <= 2.5, p.stdout[-3000:]


def test_the_shipped_configuration_file_is_accepted():
    p = run_cli(["serve", "--print-config", "--config", str(REPO / "deploy" / "cloudaudit.conf")], env=clean_env())
    assert re.search(r"^data-dir\s+/var/lib/cloudaudit\s+\[file \(.*deploy/cloudaudit.conf:\d+\)\]$", p.stdout_text, re.M), p.stdout_text
