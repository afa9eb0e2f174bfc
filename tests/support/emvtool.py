"""python-emv's ``emvtool``, an independent EMV reader, in its own virtual environment.

ENVIRONMENT.md: the PyPI package ``emv`` pins pyscard 2.0.0, which only builds with
``swig<4.2`` and ``pip install --no-build-isolation``; it gets its own environment
under ``.venv/emvtool`` (created on first use, reused afterwards) so that its old
pins never touch the project's environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.require import missing

ROOT = Path(__file__).resolve().parents[2]
EMVTOOL_VENV = ROOT / ".venv" / "emvtool"
EMVTOOL = EMVTOOL_VENV / "bin" / "emvtool"
EMV_VERSION = "1.0.14"


def _run(*args: str | Path) -> None:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        missing(f"could not install python-emv's emvtool: {' '.join(map(str, args))}: {result.stderr[-800:]}")


def ensure_emvtool() -> Path:
    """Path of a working ``emvtool``; builds its environment the first time."""
    if EMVTOOL.exists():
        return EMVTOOL
    python = EMVTOOL_VENV / "bin" / "python"
    if not python.exists():
        _run(sys.executable, "-m", "venv", EMVTOOL_VENV)
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check")
    _run(*pip, "swig<4.2", "setuptools", "wheel")
    # The environment's bin/ must be on PATH so that pyscard's build finds this swig.
    _run("env", f"PATH={EMVTOOL_VENV / 'bin'}:/usr/bin:/bin", *pip, "--no-build-isolation", f"emv=={EMV_VERSION}")
    if not EMVTOOL.exists():
        missing("python-emv installed but emvtool is missing")
    return EMVTOOL
