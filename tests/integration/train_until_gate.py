"""Run the train flow in a child process that stops for good between registration and the gate.

Used by ``test_train_kill.py``: the gate's composition is replaced with a
function that writes ``marker`` and sleeps, so the parent can SIGKILL this
process at exactly that point. Everything before it (fit, MLflow run,
registration) is the real code. Not collected as a test.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path


def main(marker: str) -> None:
    import infra.risk.gate as risk_gate

    def stall(*args, **kwargs):
        Path(marker).write_text("registered; waiting to be killed before the verdict\n")
        time.sleep(600)

    risk_gate.run_gate = stall  # the gate task calls infra.risk.gate.run_gate after register-model

    from flows.train import train

    asyncio.run(train())


if __name__ == "__main__":
    main(sys.argv[1])
