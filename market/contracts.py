"""The market's contracts (contracts/*.vy) and their compiled artifacts (contracts/<Name>.json:
the ABI and the deployment bytecode, committed beside the source).

The market reads only the artifacts, so running it needs no compiler. `python -m market.contracts`
recompiles every source with the pinned vyper (requirements-dev.txt) and rewrites them; a test
recompiles and compares, so a source change without its artifact fails."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
NAMES = ("MarketVault", "TestToken")
COMPILER = "vyper 0.4.3"


def source_path(name: str) -> Path:
    return CONTRACTS_DIR / f"{name}.vy"


def artifact_path(name: str) -> Path:
    return CONTRACTS_DIR / f"{name}.json"


@cache
def artifact(name: str) -> dict[str, Any]:
    """{contractName, compiler, sourceSha256, abi, bytecode} as committed."""
    return json.loads(artifact_path(name).read_text())


def abi(name: str) -> list[dict[str, Any]]:
    return artifact(name)["abi"]


def compile_artifact(name: str) -> dict[str, Any]:
    """Compile the source with the installed vyper (which must be the pinned version)."""
    import vyper

    if f"vyper {vyper.__version__.split('+')[0]}" != COMPILER:
        raise RuntimeError(f"the contracts are compiled with {COMPILER}, not vyper {vyper.__version__}")
    source = source_path(name).read_text()
    out = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return {
        "contractName": name,
        "compiler": COMPILER,
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def write_artifacts() -> list[str]:
    for name in NAMES:
        artifact_path(name).write_text(render(compile_artifact(name)))
    return list(NAMES)


if __name__ == "__main__":
    for written in write_artifacts():
        print(f"wrote contracts/{written}.json")  # noqa: T201 - a developer's command
