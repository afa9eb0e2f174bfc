"""A verifier in its own process, for the persistence and multi-process tests.

``python -m tests.flow.worker MODE DB KEYSTORE NOW ASSERTION...``

* ``verify`` — verify each assertion file, print one JSON line per result, exit;
* ``verify-then-hang`` — the same, then wait to be killed (SIGKILL);
* ``race GO`` — wait until the file GO exists, then verify (many processes at once);
* ``loop`` — verify the assertions one after the other, printing as it goes (killed at some point).
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

from app.flow.store import SqliteVerifierStore
from protocol import keystore as keystore_json
from protocol.crypto.capk import default_store
from protocol.tap.verifier import Verifier
from protocol.tap.verifier_result import CHALLENGE_UNUSED


def main(argv: list[str]) -> int:
    mode, db, keys_file, now_text, *rest = argv
    go = None
    if mode == "race":
        go, *rest = rest
    keys = keystore_json.loads(Path(keys_file).read_text())
    now = int(now_text)
    verifier = Verifier(
        SqliteVerifierStore(db), keystore=keys, ca_store=keys.capk_store(default_store()), now=lambda: now,
        today=lambda: datetime.datetime.fromtimestamp(now, datetime.UTC).date(),
    )  # fmt: skip
    if go is not None:
        while not Path(go).exists():
            time.sleep(0.001)
    for path in rest:
        result = verifier.verify(Path(path).read_bytes())
        line = {"file": path, "outcome": result.outcome.value, "unused": result.status(CHALLENGE_UNUSED).value}
        print(json.dumps(line), flush=True)
    if mode == "verify-then-hang":
        print("HANGING", flush=True)
        time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
