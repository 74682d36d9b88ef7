from __future__ import annotations

import json
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.base import DriverError
from andromede.compute.agent.drivers.qemu import accel


@pytest.fixture()
def probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record probe runs and make KVM 'work'."""
    calls: list[str] = []

    def fake_probe(qemu_binary: str, **_: object) -> tuple[bool, str]:
        calls.append(qemu_binary)
        return True, "probe says yes"

    monkeypatch.setattr(accel, "probe_kvm", fake_probe)
    return calls


def test_explicit_choices_are_taken_as_given(tmp_path: Path, probes: list[str]) -> None:
    for requested in ("tcg", "kvm"):
        chosen = accel.choose_accelerator(requested, state_dir=tmp_path, qemu_binary="qemu", allow_kvm=True)
        assert chosen == requested
    assert probes == []


def test_auto_is_tcg_unless_kvm_is_allowed(tmp_path: Path, probes: list[str]) -> None:
    assert accel.choose_accelerator("auto", state_dir=tmp_path, qemu_binary="qemu", allow_kvm=False) == "tcg"
    assert probes == []
    assert not (tmp_path / accel.VERDICT_FILE).exists()


def test_an_allowed_kvm_is_probed_once_and_the_verdict_cached(tmp_path: Path, probes: list[str]) -> None:
    for _ in range(3):
        assert accel.choose_accelerator("auto", state_dir=tmp_path, qemu_binary="qemu", allow_kvm=True) == "kvm"

    assert probes == ["qemu"]
    verdict = json.loads((tmp_path / accel.VERDICT_FILE).read_text())
    assert verdict["accelerator"] == "kvm" and verdict["reason"] == "probe says yes"


def test_a_new_qemu_binary_is_probed_again(tmp_path: Path, probes: list[str]) -> None:
    accel.choose_accelerator("auto", state_dir=tmp_path, qemu_binary="qemu-a", allow_kvm=True)
    accel.choose_accelerator("auto", state_dir=tmp_path, qemu_binary="qemu-b", allow_kvm=True)

    assert probes == ["qemu-a", "qemu-b"]


def test_a_failed_probe_means_tcg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "probe_kvm", lambda *_args, **_kw: (False, "KVM internal error"))

    assert accel.choose_accelerator("auto", state_dir=tmp_path, qemu_binary="qemu", allow_kvm=True) == "tcg"
    assert json.loads((tmp_path / accel.VERDICT_FILE).read_text())["reason"] == "KVM internal error"


def test_an_unknown_request_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="unknown accelerator"):
        accel.choose_accelerator("xen", state_dir=tmp_path, qemu_binary="qemu", allow_kvm=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "allowed"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_environment_switch(monkeypatch: pytest.MonkeyPatch, value: str, allowed: bool) -> None:
    monkeypatch.setenv(accel.ALLOW_KVM_ENV, value)

    assert accel.kvm_allowed_by_environment() is allowed


def test_a_missing_kvm_device_fails_the_probe(tmp_path: Path) -> None:
    works, reason = accel.probe_kvm("qemu-system-x86_64", kvm_device=tmp_path / "kvm")

    assert not works and "No such file" in reason


def test_a_missing_qemu_fails_the_probe_instead_of_raising(tmp_path: Path) -> None:
    openable = tmp_path / "kvm"
    openable.touch()

    works, reason = accel.probe_kvm("/nonexistent/qemu-system-x86_64", timeout=2, kvm_device=openable)

    assert not works and "not found" in reason
