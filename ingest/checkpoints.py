"""Named points in an ingest where a test can stop it, so a kill lands exactly there.

A crash-safety test sets SCRKB_HALT_AT to "STAGE:N" (or several, comma-separated):
the ingest that reaches STAGE for the Nth time writes the stage's name to the file
named by SCRKB_HALT_FILE and waits there until it is killed. The test waits for the
file, not for a time, so the kill point does not depend on the machine's speed.
Outside tests the variable is unset and a checkpoint costs one lookup.
"""

from __future__ import annotations

import os
import time
from collections import Counter

STAGES = (
    "parsed",   # a file is extracted, chunked, embedded and tagged; nothing of it is stored
    "stored",   # its catalogue transaction has committed; its vectors are not in the index yet
    "vectors",  # its vectors are in the vector index; its passages are not in the keyword index yet
    "indexed",  # its vectors and keywords are in their indexes and it is marked done
)
_reached: Counter = Counter()


def checkpoint(stage: str) -> None:
    """Mark that the ingest reached `stage`; halt here if a test asked for it."""
    wanted = os.environ.get("SCRKB_HALT_AT")
    if not wanted:
        return
    _reached[stage] += 1
    if f"{stage}:{_reached[stage]}" in wanted.split(","):
        with open(os.environ["SCRKB_HALT_FILE"], "w") as fh:
            fh.write(stage)
        while True:  # until the test's SIGKILL
            time.sleep(60)
