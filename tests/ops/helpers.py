"""What the ops tests share: the embedded installation the `embedded` fixture (conftest)
serves, and the limits it is started with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.embedded import Served, Unit, manage

UPLOAD_MB = 200  # the evidence limit of this server: room for the 200 MB upload
IDLE_SECONDS = 2  # how long it lets a client pause while sending a body


@dataclass
class Embedded:
    var_dir: Path
    units: list[Unit]
    served: Served

    @property
    def spare(self) -> Unit:
        return self.units[-1]

    def settle(self) -> None:
        """Do now what the server's in-process worker does after its next sweep (keep the
        reports of the cases other tests sent), so that it writes nothing while a test
        compares what the installation holds before and after."""
        done = manage(
            self.var_dir,
            "shell",
            "-c",
            "from deadlines.runner import run_after_sweep; run_after_sweep()",
        )
        assert done.returncode == 0, done.stdout + done.stderr
