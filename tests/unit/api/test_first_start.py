"""The first start writes the administrator's secrets before any other service bootstraps.

They exist nowhere else: if a later step fails (a tiny image that cannot be built, a full disk), the next start
finds identity bootstrapped and never shows them again, and the installation has no usable administrator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from andromede.api import server
from andromede.common.config import Settings
from andromede.image import descriptor as image_descriptor


def test_a_failing_service_bootstrap_leaves_the_admin_credentials_written(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot_build(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("busybox not found")

    monkeypatch.setattr(image_descriptor, "ensure_tiny_image", cannot_build)
    settings = Settings(data_dir=tmp_path / "data", insecure_http=True, agent_driver="none")
    with pytest.raises(RuntimeError, match="busybox"):
        server.prepare(settings)
    written = (settings.data_dir / "admin-credentials").read_text()
    assert "password: " in written and "totp_uri: otpauth://" in written
    assert "application_credential_secret" in (settings.data_dir / "clouds.yaml").read_text()
    again = server.prepare(Settings(data_dir=tmp_path / "data", insecure_http=True, agent_driver="none",
                                    tiny_image="skip"))
    assert not again.first_start
    assert (settings.data_dir / "admin-credentials").read_text() == written
