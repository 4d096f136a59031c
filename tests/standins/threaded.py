"""A tornado app served on 127.0.0.1 from a thread of its own, for the stand-ins: a test on any
event loop, or none, can call it, with async clients (httpx) or blocking ones (requests and
httplib2, which the Google libraries use)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

__all__ = ["ThreadedApp"]


class ThreadedApp:
    """Serves ``routes()`` (a subclass's tornado rules) on a free port of 127.0.0.1 in a daemon
    thread: ``start``/``stop`` or ``with``; ``root`` is ``http://127.0.0.1:<port>``."""

    thread_name = "stand-in"

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def routes(self) -> list[Any]:
        raise NotImplementedError

    @property
    def root(self) -> str:
        if not self.port:
            raise RuntimeError(f"the {self.thread_name} is not started")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Any:
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            http = tornado.httpserver.HTTPServer(tornado.web.Application(self.routes()))
            http.add_sockets(sockets)
            self._loop = loop
            ready.set()
            loop.run_forever()
            http.stop()
            loop.run_until_complete(http.close_all_connections())
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the {self.thread_name} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
