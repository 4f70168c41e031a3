"""A real provider on loopback for the resource tests: openai-compat, searxng, http-blob and custom
JSON, served by http.server in a thread. Tests steer it (status, delay, reported usage) and read
what it received."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class ProviderState:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        self.delay_sec = 0.0
        self.total_tokens: int | None = 42
        self.prompt_tokens = 10
        self.blobs: dict[str, bytes] = {}
        self.blob_type = "application/octet-stream"
        self.answer: bytes | None = None  # when set, the body of every 200 answer, whatever was asked
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.hold = False
        self.lock = threading.Lock()


def _handler(state: ProviderState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            with state.lock:
                state.requests.append(
                    {
                        "method": method,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": dict(self.headers),
                        "body": raw,
                    }
                )
            if state.hold:
                state.entered.release()
                state.release.wait(10)
            if state.delay_sec:
                state.release.wait(state.delay_sec)
            if state.status != 200:
                self._reply(state.status, b'{"error": "provider trouble"}')
                return
            if state.answer is not None:
                self._reply(200, state.answer)
                return
            path = url.path
            if path.endswith("/chat/completions"):
                body = json.loads(raw or b"{}")
                usage = (
                    {}
                    if state.total_tokens is None
                    else {
                        "prompt_tokens": state.prompt_tokens,
                        "completion_tokens": state.total_tokens - state.prompt_tokens,
                        "total_tokens": state.total_tokens,
                    }
                )
                out = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body.get("model", "m"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
                    ],
                }
                if usage:
                    out["usage"] = usage
                self._reply(200, json.dumps(out).encode())
            elif path.endswith("/search"):
                q = parse_qs(url.query).get("q", [""])[0]
                self._reply(
                    200, json.dumps({"query": q, "results": [{"title": "r1", "url": "https://r.example/1"}]}).encode()
                )
            elif "/blob/" in path:
                digest = path.rsplit("/", 1)[1]
                if method == "PUT":
                    state.blobs[digest] = raw
                    self._reply(200, json.dumps({"stored": digest, "size": len(raw)}).encode())
                elif digest in state.blobs:
                    self._reply(200, state.blobs[digest], state.blob_type)
                else:
                    self._reply(404, b'{"error": "no such blob"}')
            else:
                body = json.loads(raw or b"{}") if raw else {}
                self._reply(200, json.dumps({"echo": body, "path": path}).encode())

        def do_GET(self):  # noqa: N802
            self._serve("GET")

        def do_POST(self):  # noqa: N802
            self._serve("POST")

        def do_PUT(self):  # noqa: N802
            self._serve("PUT")

    return Handler


class ProviderServer:
    def __init__(self) -> None:
        self.state = ProviderState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ProviderServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
