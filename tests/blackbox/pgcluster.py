"""A throwaway PostgreSQL cluster for the tests of the PostgreSQL store (scripts/pg-cluster)."""

import subprocess
from pathlib import Path

from support import REPO

SCRIPT = REPO / "scripts" / "pg-cluster"


class Cluster:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.url = None

    def start(self):
        p = subprocess.run([str(SCRIPT), "start", str(self.directory)], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, "scripts/pg-cluster start failed: %s %s" % (p.stdout, p.stderr)
        self.url = p.stdout.strip().splitlines()[-1]
        return self

    def psql(self, sql):
        """Runs `sql` as the cluster's superuser in the test database; returns its rows as text lines."""
        port = (self.directory / "port").read_text().strip()
        p = subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "cloudaudit_test", "-v", "ON_ERROR_STOP=1",
                            "-At", "-c", sql], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return [line for line in p.stdout.splitlines() if line]

    def halt(self):
        """Stops the server, keeping its files: an outage, which `restart` ends."""
        subprocess.run([str(SCRIPT), "halt", str(self.directory)], check=True, timeout=120)

    def restart(self):
        subprocess.run([str(SCRIPT), "restart", str(self.directory)], check=True, timeout=120)

    def stop(self):
        subprocess.run([str(SCRIPT), "stop", str(self.directory)], timeout=120)
