"""The local chain of `manage.py devchain`: web3's eth-tester (py-evm, in this process) served as
JSON-RPC over HTTP on loopback, so the web server, the workers, beat and scripts share one chain.

Its state is written to var/chain/state.json after every request that can change it (and at exit),
and read back at start, so a restart continues the same chain (same blocks and hashes: the deposit
job's cursor, the deposits and the vault's balance still agree). Test keys only: eth-tester's
well-known accounts, written to var/chain/devchain.json for local use and never printed."""

from __future__ import annotations

import json
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("market.devchain")

WRITES = {"eth_sendRawTransaction", "eth_sendTransaction", "evm_mine"}
MAX_BODY = 4 * 1024 * 1024


def _jsonable(value: Any, key: str = "") -> Any:
    """eth-tester's answers in JSON-RPC form: quantities and byte strings as 0x hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return "0x" + value.to_bytes(256, "big").hex() if key == "logsBloom" else hex(value)
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


class DevChain:
    """One eth-tester chain, persisted to `state_path`; requests are served one at a time."""

    def __init__(self, state_path: Path):
        from eth.db.atomic import AtomicDB
        from eth.db.backends.memory import MemoryDB
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider, Web3

        self.state_path = state_path
        self.lock = threading.Lock()
        backend = PyEVMBackend()
        self.restored = state_path.is_file()
        if self.restored:
            data = json.loads(state_path.read_text())
            kv = {bytes.fromhex(k): bytes.fromhex(v) for k, v in data.items()}
            backend.chain = type(backend.chain)(AtomicDB(MemoryDB(kv)))
        self.tester = EthereumTester(backend)
        self.provider = EthereumTesterProvider(self.tester)
        self.w3 = Web3(self.provider, middleware=[])
        self._request = self.provider.request_func(self.w3, self.w3.middleware_onion)

    def _store(self) -> dict[bytes, bytes]:
        db = self.tester.backend.chain.chaindb.db
        return (db.wrapped_db if hasattr(db, "wrapped_db") else db).kv_store

    def save(self) -> None:
        data = {k.hex(): v.hex() for k, v in self._store().items()}
        tmp = self.state_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.state_path)

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        rid, method, params = request.get("id"), request.get("method"), request.get("params") or []
        answer: dict[str, Any] = {"jsonrpc": "2.0", "id": rid}
        try:
            with self.lock:
                if method == "evm_mine":
                    self.tester.mine_blocks(1)
                    result: Any = "0x0"
                else:
                    response = self._request(method, params)
                    if "error" in response:
                        answer["error"] = response["error"]
                        return answer
                    result = response.get("result")
                if method in WRITES:
                    self.save()
            answer["result"] = _jsonable(result)
        except Exception as exc:  # noqa: BLE001 - every failure is a JSON-RPC error for the caller
            answer["error"] = _error(exc)
        return answer


def _error(exc: BaseException) -> dict[str, Any]:
    if type(exc).__name__ == "TransactionFailed":
        reason = str(exc.args[0]) if exc.args else "execution reverted"
        message = reason if reason.startswith("execution reverted") else f"execution reverted: {reason}"
        return {"code": 3, "message": message, "data": "0x"}
    return {"code": -32000, "message": f"{type(exc).__name__}: {exc}"[:300]}


def serve(chain: DevChain, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP JSON-RPC server for `chain` (single requests and batches); call serve_forever."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's signature
            return

        def do_POST(self) -> None:  # noqa: N802 - the base's name
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_error(413)
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if isinstance(body, list):
                answer: Any = [chain.handle(r) for r in body if isinstance(r, dict)]
            elif isinstance(body, dict):
                answer = chain.handle(body)
            else:
                answer = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return ThreadingHTTPServer((host, port), Handler)
