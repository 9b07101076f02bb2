"""A TCP forwarder in front of the real S3 server whose cable can be cut mid-transfer.

The application talks to the forwarder; after `cut_after` bytes have gone towards the server
every connection is closed and the listening socket too, so the store "goes down" in the
middle of an upload exactly as a crashed or unplugged server would (connections reset, new
ones refused), while the server behind it keeps what it really received for inspection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


class CuttableLink:
    def __init__(self, target_host: str, target_port: int, *, cut_after: int) -> None:
        self.target = (target_host, target_port)
        self.cut_after = cut_after
        self.sent = 0
        self.cut = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.cut.is_set():
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if upstream:
                    with self._lock:
                        self.sent += len(data)
                        over = self.sent >= self.cut_after
                    if over:
                        self.pull_the_plug()
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def pull_the_plug(self) -> None:
        self.cut.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # reset, as a dead server's peer sees it
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes the pumps blocked in recv()
                sock.close()

    def close(self) -> None:
        self.pull_the_plug()
