"""A throwaway PostgreSQL cluster in a temp dir, for running the identity suite on PostgreSQL too."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import time
from pathlib import Path


class PostgresUnavailable(Exception):
    pass


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        found = shutil.which("initdb")
        if not found:
            raise PostgresUnavailable("PostgreSQL server binaries (initdb) are not installed")
        return Path(found).parent
    return Path(candidates[0]).parent


class PostgresCluster:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.data = root / "pgdata"
        self.socket_dir = root / "sock"
        self.bin = _bin_dir()
        self.run_as: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresUnavailable("running as root and there is no 'postgres' user to run the server") \
                    from exc
            self.run_as = "postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self.run_as:
            shutil.chown(self.root, self.run_as)
            shutil.chown(self.socket_dir, self.run_as)
            os.chmod(self.root, 0o755)  # noqa: S103  (the server runs as postgres and must enter it)
        result = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "andromede",
                           "--auth=trust", "-E", "UTF8", "--no-sync")
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.strip()[:300]}")
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                           "-l", str(self.root / "postgres.log"), "-w", "-t", "60", "start")
        if result.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr.strip()[:300]}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            created = self._run(str(self.bin / "createdb"), "-h", str(self.socket_dir), "-p", str(self.port),
                                "-U", "andromede", "andromede")
            if created.returncode == 0:
                return f"postgresql://andromede@127.0.0.1:{self.port}/andromede"
            time.sleep(0.5)
        raise PostgresUnavailable("could not create the test database")

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def fresh_database(postgres_url: str, prefix: str) -> str:
    """A database of its own in the session's cluster, for a test's private cloud: two clouds on one database
    would share one bootstrap, and the second finds the first's admin instead of making its own."""
    import psycopg

    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"
