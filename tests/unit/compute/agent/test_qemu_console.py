from __future__ import annotations

import os
from pathlib import Path

import pytest

from andromede.compute.agent.drivers.qemu.console import last_lines, read_tail, trim


@pytest.mark.parametrize(
    ("text", "count", "expected"),
    [
        ("a\nb\nc\n", 2, "b\nc\n"),
        ("a\nb\nc", 2, "b\nc"),
        ("a\nb\n", 5, "a\nb\n"),
        ("a\nb\n", None, "a\nb\n"),
        ("a\nb\n", 0, ""),
        ("", 3, ""),
        ("a\r\nb\r\n", 1, "b\r\n"),
    ],
)
def test_last_lines(text: str, count: int | None, expected: str) -> None:
    assert last_lines(text, count) == expected


def test_read_tail_never_reads_past_its_limit_and_starts_on_a_line(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"".join(b"line %05d\n" % i for i in range(10_000)))

    tail = read_tail(log, limit=1000)

    assert len(tail) <= 1000
    assert tail.startswith("line ") and tail.endswith("line 09999\n")


def test_read_tail_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert read_tail(tmp_path / "absent.log") == ""


def test_read_tail_replaces_invalid_utf8(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"ok \xff\xfe\n")

    assert read_tail(log) == "ok \ufffd\ufffd\n"


def test_trim_cuts_a_long_log_back_and_the_appending_writer_carries_on(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    writer = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)  # how QEMU holds it (-chardev file,append=on)
    try:
        for i in range(3000):
            os.write(writer, b"%04d " % i + b"x" * 95 + b"\n")

        assert trim(log, threshold=200_000, keep=50_000)

        assert log.stat().st_size <= 50_000
        os.write(writer, b"after the trim\n")
        content = log.read_bytes()
        assert b"\0" not in content  # no hole where the writer's old offset was
        assert content.endswith(b"2999 " + b"x" * 95 + b"\nafter the trim\n")
    finally:
        os.close(writer)


def test_trim_leaves_a_small_log_alone(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_bytes(b"short\n")

    assert not trim(log, threshold=1000, keep=100)
    assert not trim(tmp_path / "absent.log")
    assert log.read_bytes() == b"short\n"
