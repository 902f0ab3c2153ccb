"""A weak link between Chromium and the app: a local TCP proxy that counts bytes, may throttle, and
may drop the connection in the middle of a request.

Used by bench/weaklink.py (bytes on the wire, slow-line figures) and by the browser tests of a
dropped connection (tests/browser/test_weak_link.py). Chromium is pointed at the proxy's own
address (a reverse proxy, no browser proxy settings), so cookies and the service worker belong to
that origin. One thread per direction of each connection; plain sockets, loopback only.

Each HTTP/1.1 request is recorded (method, path, bytes up and down, header bytes up): a request
starts where its request line starts in the client's stream, and the bytes that come back on the
same connection until the next request belong to it (Chromium does not pipeline).
"""
from __future__ import annotations

import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

_REQUEST_LINE = re.compile(rb"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\r\n")
_CHUNK = 16 * 1024


@dataclass
class Exchange:
    """One request as it crossed the proxy."""
    method: str
    path: str
    up: int = 0          # request line, headers and body, as sent by the browser
    down: int = 0        # status line, headers and body of the answer
    raw_header_up: bytes = b""    # request line and headers, up to the blank line
    raw_header_down: bytes = b""  # status line and headers of the answer
    _head_up: bytes | None = b""
    _head_down: bytes | None = b""

    @property
    def header_up(self) -> int:
        return len(self.raw_header_up) + 4 if self.raw_header_up else 0

    @property
    def header_down(self) -> int:
        return len(self.raw_header_down) + 4 if self.raw_header_down else 0

    def add_up(self, data: bytes) -> None:
        self.up += len(data)
        if self._head_up is not None:
            self._head_up += data
            end = self._head_up.find(b"\r\n\r\n")
            if end != -1:
                self.raw_header_up, self._head_up = self._head_up[:end], None

    def add_down(self, data: bytes) -> None:
        self.down += len(data)
        if self._head_down is not None:
            self._head_down += data
            end = self._head_down.find(b"\r\n\r\n")
            if end != -1:
                self.raw_header_down, self._head_down = self._head_down[:end], None


@dataclass
class Cut:
    """Drop the first connection whose request matches `pattern` after `after` bytes of that request
    went up (direction "up") or of its response came back (direction "down": the server did the
    work, the browser never hears of it); the link then stays down (new connections are closed at
    once) until `restore()`."""
    pattern: re.Pattern
    after: int
    direction: str = "up"
    fired: threading.Event = field(default_factory=threading.Event)


class WeakLink:
    """start() it, send the browser to `url`; `exchanges` lists what went through."""

    def __init__(self, upstream_port: int, *, up_bps: float | None = None, down_bps: float | None = None,
                 host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self.up_bps, self.down_bps = up_bps, down_bps
        self.exchanges: list[Exchange] = []
        self.bytes_up = self.bytes_down = 0
        self.down = False  # the link is cut: connections are refused until restore()
        self._cut: Cut | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.create_server((host, 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self._stopping = False

    # ------------------------------------------------------------ control
    def start(self) -> WeakLink:
        threading.Thread(target=self._accept, daemon=True, name="weaklink-accept").start()
        return self

    def stop(self) -> None:
        self._stopping = True
        self._listener.close()
        self._close_all()

    def cut_after(self, pattern: str, after: int, direction: str = "up") -> Cut:
        """Arm a drop: the next request whose request line matches `pattern` (a regex on
        "METHOD /path") is cut after `after` bytes of it went up, or with direction="down" after
        `after` bytes of its response came back."""
        if direction not in ("up", "down"):
            raise ValueError(direction)
        self._cut = Cut(re.compile(pattern.encode()), after, direction)
        return self._cut

    def restore(self) -> None:
        self.down = False

    def reset_counts(self) -> None:
        with self._lock:
            self.exchanges = []
            self.bytes_up = self.bytes_down = 0

    def requests(self, method: str | None = None, path: str | None = None) -> list[Exchange]:
        """Exchanges of that method whose path matches the regex `path`."""
        with self._lock:
            return [e for e in self.exchanges if (method is None or e.method == method)
                    and (path is None or re.search(path, e.path))]

    # ------------------------------------------------------------ plumbing
    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            if self.down:
                _hard_close(client)
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _hard_close(client)
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open.update((client, server))
            current: list[Exchange | None] = [None]  # this connection's request now under way
            threading.Thread(target=self._pump_up, args=(client, server, current), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(server, client, current), daemon=True).start()

    def _pump_up(self, client: socket.socket, server: socket.socket, current: list) -> None:
        sent_of_cut = None  # bytes of the request to be cut that went up so far
        try:
            while True:
                data = client.recv(_CHUNK)
                if not data:
                    break
                for piece, new in self._split_requests(data, current):
                    cut = self._cut
                    if new and sent_of_cut is None and cut is not None and cut.direction == "up" and cut.pattern.search(
                            f"{current[0].method} {current[0].path}".encode()):
                        sent_of_cut = 0
                    if sent_of_cut is not None:
                        room = cut.after - sent_of_cut
                        if len(piece) >= room:
                            self._forward(server, piece[:room], self.up_bps, up=True, exchange=current[0])
                            self._drop(cut)
                            return
                        sent_of_cut += len(piece)
                    self._forward(server, piece, self.up_bps, up=True, exchange=current[0])
        except OSError:
            pass
        finally:
            _hard_close(server)
            _hard_close(client)

    def _split_requests(self, data: bytes, current: list) -> list[tuple[bytes, bool]]:
        """The chunk cut where a new request line starts: (piece, True when a request begins with it);
        each new request is recorded and becomes the connection's current one."""
        starts = [m.start() for m in _REQUEST_LINE.finditer(data)]
        bounds = sorted(set([0, *starts, len(data)]))
        pieces = []
        for begin, end in zip(bounds, bounds[1:]):
            new = begin in starts
            if new:
                match = _REQUEST_LINE.match(data, begin)
                exchange = Exchange(match.group(1).decode(), match.group(2).decode("latin-1"))
                with self._lock:
                    self.exchanges.append(exchange)
                current[0] = exchange
            pieces.append((data[begin:end], new))
        return pieces

    def _pump_down(self, server: socket.socket, client: socket.socket, current: list) -> None:
        try:
            while True:
                data = server.recv(_CHUNK)
                if not data:
                    break
                cut, exchange = self._cut, current[0]
                if cut is not None and cut.direction == "down" and exchange is not None and cut.pattern.search(
                        f"{exchange.method} {exchange.path}".encode()):
                    room = cut.after - exchange.down
                    if len(data) > room:
                        self._forward(client, data[:max(room, 0)], self.down_bps, up=False, exchange=exchange)
                        self._drop(cut)
                        return
                self._forward(client, data, self.down_bps, up=False, exchange=exchange)
        except OSError:
            pass
        finally:
            _hard_close(client)
            _hard_close(server)

    def _forward(self, sock: socket.socket, data: bytes, bps: float | None, *, up: bool,
                 exchange: Exchange | None) -> None:
        if not data:
            return
        with self._lock:
            if up:
                self.bytes_up += len(data)
                if exchange is not None:
                    exchange.add_up(data)
            else:
                self.bytes_down += len(data)
                if exchange is not None:
                    exchange.add_down(data)
        if bps:
            time.sleep(len(data) * 8 / bps)
        sock.sendall(data)

    def _drop(self, cut: Cut) -> None:
        self.down = True
        self._cut = None
        self._close_all()
        cut.fired.set()

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _hard_close(sock)


def _hard_close(sock: socket.socket) -> None:
    """Close with a reset (SO_LINGER 0), as a dropped mobile link looks to the browser. The read side
    is shut first: a thread blocked reading the socket (the other direction's pump) lets go of it,
    so that the close takes effect at once instead of when that read returns."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
