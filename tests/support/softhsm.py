"""A SoftHSM2 token of our own (SoftHSM2 is Debian's `softhsm2`, installed by the Makefile's bootstrap): a config
pointing at a temporary token directory, an initialised token and a 0600 PIN file."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MODULES = (Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"))


def module() -> Path | None:
    if shutil.which("softhsm2-util") is None:
        return None
    return next((path for path in MODULES if path.exists()), None)


@dataclass(frozen=True)
class Token:
    module: Path
    conf: Path  # SOFTHSM2_CONF
    label: str
    pin_file: Path

    def settings_env(self) -> dict[str, str]:
        """What a server needs in its environment to keep its master KEK in this token."""
        return {"SOFTHSM2_CONF": str(self.conf), "ANDROMEDE_KMS_MASTER_KEY": "pkcs11",
                "ANDROMEDE_KMS_PKCS11_MODULE": str(self.module), "ANDROMEDE_KMS_PKCS11_TOKEN_LABEL": self.label,
                "ANDROMEDE_KMS_PKCS11_PIN_FILE": str(self.pin_file)}


def make_token(directory: Path, label: str = "andromede") -> Token:
    lib = module()
    assert lib is not None, "softhsm2 is not installed"
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, mode=0o700)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    pin = secrets.token_hex(8)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin",
                    secrets.token_hex(8)], check=True, capture_output=True, env={"SOFTHSM2_CONF": str(conf)})
    pin_file = directory / "pin"
    pin_file.write_text(pin + "\n")
    pin_file.chmod(0o600)
    return Token(lib, conf, label, pin_file)
