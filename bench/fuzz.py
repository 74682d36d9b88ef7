"""The unbounded fuzz pass: N generated requests (default 100,000) over every JSON API, against a private cloud.

Prints the answers by status, each answer >= 500 and how many tracebacks the server wrote to its log. The
bounded pass (a fixed seed, a few thousand requests) is tests/security/test_fuzz.py; the generator is
tests/security/fuzzing.py. Not a test: it never fails. Run:
  .venv/bin/python bench/fuzz.py [N] [--seed S] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.security.fuzzing import Report, fuzz, tracebacks
from tests.support.accounts import Admin
from tests.support.server import Server, free_port

TOKEN_RENEWAL_S = 1800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("requests", nargs="?", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (default: new requests each run)")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="andromede-bench-fuzz-"))
    cloud = Server(data_dir=tmp / "data", port=free_port(), database_url=args.database_url)
    cloud.start()
    try:
        admin = Admin(cloud)
        assert cloud.log_path is not None
        log_start = cloud.log_path.stat().st_size
        tokens = [admin.account().token(cloud), cloud.admin_token()]
        issued = time.monotonic()

        def progress(report: Report) -> None:
            nonlocal issued
            print(f"... {report.sent} sent, {len(report.findings)} >= 500, {report.seconds:.0f} s", flush=True)
            if time.monotonic() - issued > TOKEN_RENEWAL_S:  # tokens live an hour
                tokens[:] = [admin.account().token(cloud), cloud.admin_token()]
                issued = time.monotonic()

        report = fuzz(cloud.base_url, cloud.cacert, tokens, args.requests, seed=args.seed, progress=progress)
        admin.client.close()
        with cloud.log_path.open() as log:
            log.seek(log_start)
            found = tracebacks(log.read())
    finally:
        cloud.stop()
    print(report.summary())
    for finding in report.findings[20:]:
        print(f"  {finding.status} {finding.method} {finding.url[:160]} {finding.body[:200]!r}")
    print(f"answers >= 500: {len(report.findings)}")
    print(f"tracebacks in the server log: {len(found)}")
    for block in found[:5]:
        print("----", block[-1200:])
    print(f"server log: {cloud.log_path}")


if __name__ == "__main__":
    main()
