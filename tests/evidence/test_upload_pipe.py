"""The bounded pipe between the request and the store's thread loses, adds and reorders
nothing, whatever sizes the two sides use; an abort reaches the reader as an error."""

from __future__ import annotations

import os
import random
import threading

import pytest

from evidence.uploads import UploadAborted, _Pipe


def pump(data: bytes, reads: list[int], seed: int) -> bytes:
    rng = random.Random(seed)
    pipe, received = _Pipe(), []

    def reader() -> None:
        while chunk := pipe.read(rng.choice(reads)):
            received.append(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    at = 0
    while at < len(data):
        size = rng.randint(1, 1 << 20)
        pipe.write(data[at : at + size])
        at += size
    pipe.end()
    thread.join(10)
    return b"".join(received)


@pytest.mark.parametrize("seed", range(8))
def test_what_goes_in_comes_out(seed: int) -> None:
    data = os.urandom(random.Random(seed).randint(0, 3_000_000))
    assert pump(data, [1, 100, 65536, 5 * 1024 * 1024 + 1, -1], seed) == data


def test_an_abort_reaches_the_reader_instead_of_an_end() -> None:
    pipe = _Pipe()
    pipe.write(b"%PDF-1.7 first part")
    pipe.abort()
    with pytest.raises(UploadAborted):
        pipe.read(1024 * 1024)


def test_the_writer_learns_that_the_reader_is_gone() -> None:
    pipe = _Pipe()
    pipe.reader_gone.set()
    with pytest.raises(UploadAborted):
        pipe.write(b"more")
