"""How `make test` hands the tests to its parallel workers (pytest-xdist).

A unit of work is a test file, so that what a module builds once (`tests.sharing`, the
module's Chromium) is built once; files that share a package-scoped fixture are one unit
(TOGETHER: tests/ops' `embedded` installation takes a migrated SQLite database, a seeded
province and a server to build); a file of many tests is cut into parts of about PART
tests, so that no worker is left alone at the end with a big file. Units go out in
collection order, which puts the longest files first (`LONGEST_FIRST` in the root conftest),
and a worker gets its next unit only when it is down to its last test: a long test does
not hold back a unit queued behind it while another worker is idle.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadScopeScheduling

PART = 250
TOGETHER = (
    ("tests/ops/test_backup.py", "tests/ops/test_embedded.py", "tests/ops/test_request_bodies.py"),
)
_GROUP = {file: group[0] for group in TOGETHER for file in group}


class FileScheduling(LoadScopeScheduling):
    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False  # collection order: the longest first
        self._unit: dict[str, str] = {}

    def schedule(self) -> None:
        if self.collection is None and self.registered_collections:
            self._cut(next(iter(self.registered_collections.values())))
        super().schedule()

    def _cut(self, collection: list[str]) -> None:
        by_file: dict[str, list[str]] = {}
        for nodeid in collection:
            by_file.setdefault(nodeid.split("::", 1)[0], []).append(nodeid)
        for file, nodeids in by_file.items():
            if file in _GROUP:
                continue
            parts = max(1, round(len(nodeids) / PART))
            for index, nodeid in enumerate(nodeids):
                self._unit[nodeid] = f"{file}#{index * parts // len(nodeids)}"

    def _split_scope(self, nodeid: str) -> str:
        if nodeid in self._unit:
            return self._unit[nodeid]
        file = nodeid.split("::", 1)[0]
        return _GROUP.get(file, file)

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # A worker runs a test once it knows the next one (or that none comes): give it more
        # when it holds its last test, not before.
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)
