"""CLI tests: ``trustone`` in-process (``main(argv)``) and as real subprocesses.

``PCSCLITE_CSOCK_NAME`` is exported at import (collection time), before any PC/SC
call in this process, so that the PC/SC tests here share the private pcscd
(``tests/support/pcscd.py``). Every test gets its own data directory, and
``TRUSTONE_DATA_DIR`` points there too: nothing touches the user's data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.cli.main import main
from tests.support.pcscd import client_socket_path, private_pcscd

__all__ = ["private_pcscd"]

client_socket_path()

TRUSTONE = Path(sys.executable).with_name("trustone")


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., CliResult]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("TRUSTONE_DATA_DIR", str(path))
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], data_dir: Path) -> Cli:
    """Run ``trustone ARGS`` in-process; ``--data-dir`` is added unless ``data=False``."""

    def run(*argv: str, data: bool = True) -> CliResult:
        args = [*argv, "--data-dir", str(data_dir)] if data else list(argv)
        code = main(args)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


def one_line_error(result: CliResult) -> None:
    """Exit 2 with exactly one line ``trustone: error: ...`` on stderr and nothing on stdout."""
    assert result.code == 2, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("trustone: error: "), result.err
    assert result.out == ""
