"""The import contracts in pyproject.toml bite: a forbidden import added to a copy of the package breaks the
contract that forbids it, and the copy passes again once the import is gone.

Everything happens in a copy under tmp_path (PYTHONPATH points at it), so the real tree is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_BROKEN = re.compile(r"^(.+) BROKEN(?: \(.*\))?$", re.MULTILINE)
_LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"

LAYERS = "Layers: CLI > API > registry > services > servicekit > libraries > contracts > db > common"
# (module added to the copy, the forbidden import it makes, the contract (or contracts) that must break)
PROBES = [
    ("andromede/network/agent/_probe.py", "import andromede.network.models",
     "Host agents never import server modules"),
    ("andromede/compute/agent/_probe.py", "from andromede.compute import servers",
     "Host agents never import server modules"),
    ("andromede/image/_probe.py", "import andromede.compute.agent.drivers.base",
     "Only agents and the assembly that starts them import agent code"),
    ("andromede/volume/agent/_probe.py", "import andromede.identity.service",
     "Host agents never import server modules"),
    ("andromede/image/_probe.py", "import andromede.volume.agent.drivers.base",
     "Only agents and the assembly that starts them import agent code"),
    ("andromede/image/_probe.py", "import andromede.compute.models", "Only compute imports compute's tables"),
    ("andromede/image/_probe.py", "from andromede.network import models", "Only network imports network's tables"),
    ("andromede/compute/_probe.py", "from andromede.network import service",
     "Compute reaches the network service only through network.for_compute"),
    ("andromede/common/_probe.py", "import andromede.api.app", LAYERS),
    ("andromede/servicekit/_probe.py", "import andromede.compute.servers", LAYERS),
    ("andromede/image/_probe.py", "from andromede import registry", LAYERS),
    ("andromede/db/_probe.py", "from andromede.identity import service", LAYERS),
    ("andromede/agentlib/_probe.py", "import andromede.compute.agent.reconciler",
     {LAYERS, "Only agents and the assembly that starts them import agent code"}),
    ("andromede/agentlib/_probe.py", "import andromede.db.engine", "Host agents never import server modules"),
    ("andromede/contracts/_probe.py", "import andromede.db.engine",
     "The server-agent contracts import nothing server-side or agent-side"),
    ("andromede/contracts/_probe.py", "from andromede.network import models",
     {LAYERS, "The server-agent contracts import nothing server-side or agent-side",
      "Only network imports network's tables"}),
]


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    shutil.copytree(ROOT / "src" / "andromede", root / "src" / "andromede",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint_imports(package_copy: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_copy / "src"), "COLUMNS": "200"}  # one contract a line
    return subprocess.run([sys.executable, "-c", _LINT_IMPORTS, "--no-cache", "--no-logo", "pyproject.toml"],
                          cwd=package_copy, env=env, capture_output=True, text=True, timeout=120, check=False)


def broken_contracts(output: str) -> set[str]:
    """The names on the summary's "<contract> BROKEN (n ignored imports)" lines."""
    return {match[1] for match in _BROKEN.finditer(output)}


@pytest.mark.parametrize(("module", "statement", "contract"), PROBES, ids=[f"{p[0]}: {p[1]}" for p in PROBES])
def test_a_forbidden_import_breaks_its_contract_until_removed(package_copy: Path, module: str, statement: str,
                                                              contract: str | set[str]) -> None:
    probe = package_copy / "src" / module
    try:
        probe.write_text(f'"""A forbidden import, for the contract test."""\n\n{statement}\n')
        refused = lint_imports(package_copy)
        assert refused.returncode != 0, refused.stdout
        assert broken_contracts(refused.stdout) == ({contract} if isinstance(contract, str) else contract), \
            refused.stdout
    finally:
        probe.unlink(missing_ok=True)
    accepted = lint_imports(package_copy)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert not broken_contracts(accepted.stdout)
