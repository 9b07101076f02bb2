"""One installation of the embedded default for the tests of this folder that need a live
server: migrated, a province of nine communes (eight for the crowd, one spare), served by
`make run`'s server (scripts/serve.sh) in a process of its own (`tests.ops.helpers`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bench.embedded import embedded_server, prepare
from tests.ops.helpers import IDLE_SECONDS, UPLOAD_MB, Embedded


@pytest.fixture(scope="package")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    var_dir = tmp_path_factory.mktemp("embedded")
    units = prepare(var_dir, 9)
    with embedded_server(
        var_dir,
        EVIDENCE_MAX_UPLOAD_MB=str(UPLOAD_MB + 10),
        REQUEST_BODY_IDLE_SECONDS=str(IDLE_SECONDS),
    ) as served:
        # The first page loads the URL configuration and the views: before any measurement.
        requests.get(f"{served.base}/login/", timeout=60).raise_for_status()
        yield Embedded(var_dir, units, served)
