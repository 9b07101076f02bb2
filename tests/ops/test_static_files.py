"""Static files in production: the web process serves them itself (WhiteNoise), with names
that carry their content's hash, compressed copies and a year of caching."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.drills.services import ROOT, production_env, web_server

A_YEAR = 365 * 24 * 3600


def test_production_serves_every_static_file_a_page_references_cached_for_a_year(
    tmp_path: Path,
) -> None:
    env = production_env(VAR_DIR=str(tmp_path))
    # What the web container does before it serves (docker-compose.yml).
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collected.returncode == 0, collected.stderr
    with web_server(env, workers=1) as base:
        page = requests.get(f"{base}/login/", timeout=30)
        assert page.status_code == 200
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        assert {Path(a).suffix for a in assets} >= {".css", ".js"}, assets
        for asset in assets:
            # A name with the content's hash: a changed file gets a new name.
            assert re.search(r"\.[0-9a-f]{12}\.(css|js|png|svg|ico)$", asset), asset
            plain = requests.get(f"{base}{asset}", headers={"Accept-Encoding": "identity"})
            assert plain.status_code == 200, asset
            assert (
                plain.content == (tmp_path / "static" / asset.removeprefix("/static/")).read_bytes()
            )
            cache = plain.headers["Cache-Control"]
            max_age = int(re.search(r"max-age=(\d+)", cache).group(1))  # type: ignore[union-attr]
            assert max_age >= A_YEAR and "immutable" in cache, cache
            squeezed = requests.get(f"{base}{asset}", headers={"Accept-Encoding": "gzip"})
            if len(plain.content) > 1024:  # small files are not worth compressing
                assert squeezed.headers.get("Content-Encoding") == "gzip", asset
            assert squeezed.content == plain.content  # requests decompresses
