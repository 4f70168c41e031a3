"""A tiny local provider for the demo market: answers the openai-compat chat-completions shape
(with a `usage` block), a searxng-style /search, and echoes custom JSON. It binds to loopback only.
Run it with `manage.py demo_provider`; the demo resources point at it."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

DEFAULT_PORT = 8765
DOCS = [
    {"title": "OpenClaw market", "url": "https://openclaw.example/market", "content": "lease capabilities"},
    {"title": "Escrow", "url": "https://openclaw.example/escrow", "content": "two-phase transfers"},
    {"title": "SIWE", "url": "https://openclaw.example/siwe", "content": "sign in with a wallet"},
]


class DemoProviderHandler(BaseHTTPRequestHandler):
    server_version = "demo-provider"

    def log_message(self, *args):  # request lines are not logged
        pass

    def _reply(self, status: int, body: dict) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        if url.path.endswith("/search"):
            q = parse_qs(url.query).get("q", [""])[0].lower()
            hits = [d for d in DOCS if any(w in (d["title"] + " " + d["content"]).lower() for w in q.split())]
            self._reply(200, {"query": q, "number_of_results": len(hits), "results": hits})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        length = min(int(self.headers.get("Content-Length") or 0), 1024 * 1024)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"error": "not JSON"})
            return
        if urlsplit(self.path).path.endswith("/chat/completions"):
            last = next((m.get("content", "") for m in reversed(body.get("messages") or []) if isinstance(m, dict)), "")
            reply = f"(demo) you said: {str(last)[:200]}"
            prompt, completion = max(1, len(str(last)) // 4), max(1, len(reply) // 4)
            completion = min(completion, int(body.get("max_tokens") or completion))
            self._reply(
                200,
                {
                    "id": "chatcmpl-demo",
                    "object": "chat.completion",
                    "model": body.get("model", "demo"),
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": reply}}
                    ],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                },
            )
        else:
            self._reply(200, {"echo": body})


def serve(port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    return ThreadingHTTPServer(("127.0.0.1", port), DemoProviderHandler)
