"""The cost of sealing a checkpoint and of serving an inclusion proof as the audit log grows, on
PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/proof.py [--sizes 100000 1000000]

Creates a scratch database `bench_proof` (dropped first and at the end), migrates it, and grows the
audit log to each size N (events appended in batches by market.audit.log.audit_record_many).
At each size it times, in the same run:
  - seal:   market.audit.checkpoints.checkpoint_seal after 100 new events;
  - proof:  market.selectors.audit.audit_proof for random sealed events (median of --proofs);
  - row:    reading one audit event by its id, the least a proof could cost (the baseline);
checks every proof, as web3.audit.proof sends it, with the offline verifier, and prints the ratios proof/row,
proof(largest)/proof(smallest) and seal(largest)/seal(smallest) beside the growth of the log. A proof and a seal
read O(log n) stored Merkle nodes (market.audit.chunks), so the goal is growth <= 1.3x from 100k to 1M events.
The seal is the median of --seals rounds of 100 new events each.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import sweep  # noqa: E402  (the scratch database helpers)

sweep.SCRATCH = "bench_proof"
BATCH = 5000


def grow(to: int) -> None:
    from django.db import transaction

    from market.audit.log import audit_record_many
    from market.models import AuditHead

    head = AuditHead.objects.filter(pk=1).first()
    have = head.next_seq if head else 0
    while have < to:
        n = min(BATCH, to - have)
        with transaction.atomic():
            audit_record_many(
                [
                    {
                        "actor_id": "system",
                        "action": "bench.note",
                        "object_type": "task",
                        "object_id": f"t{have + i}",
                        "payload": {"i": have + i},
                    }
                    for i in range(n)
                ]
            )
        have += n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--proofs", type=int, default=20)
    parser.add_argument("--seals", type=int, default=5)
    parser.add_argument(
        "--scratch", default=sweep.SCRATCH, help="name of the scratch database (dropped first and at the end)"
    )
    args = parser.parse_args()
    sweep.SCRATCH = args.scratch
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("set DATABASE_URL to a PostgreSQL server (the bench creates its own scratch database there)")
        return 2
    sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")
    sweep.admin_sql(url, f"CREATE DATABASE {sweep.SCRATCH}")
    try:
        sweep.setup_django(url)
        from market.audit.checkpoints import checkpoint_seal
        from market.audit.proofs import verify_proof
        from market.models import AuditEvent
        from market.selectors.audit import audit_proof
        from web3api.shapes.audit import ProofResult

        rnd = random.Random(7)
        results, seals = {}, {}
        for n in sorted(args.sizes):
            rounds = args.seals
            grow(n - 100 * rounds)
            checkpoint_seal()  # what is there so far (a first seal also fills any stored nodes)
            seal_runs = []
            for r in range(rounds):
                grow(n - 100 * (rounds - r - 1))
                started = time.perf_counter()
                checkpoint_seal()
                seal_runs.append(time.perf_counter() - started)
            seal_sec = statistics.median(seal_runs)
            ids = list(
                AuditEvent.objects.filter(seq__in=[rnd.randrange(n) for _ in range(args.proofs)]).values_list(
                    "event_id", flat=True
                )
            )
            proof_runs, row_runs = [], []
            for event_id in ids:
                started = time.perf_counter()
                proof = audit_proof(event_id=event_id, actor_id="system", is_staff=True)
                proof_runs.append(time.perf_counter() - started)
                verify_proof(ProofResult(proof).data)
                started = time.perf_counter()
                AuditEvent.objects.get(event_id=event_id)
                row_runs.append(time.perf_counter() - started)
            proof_sec, row_sec = statistics.median(proof_runs), statistics.median(row_runs)
            results[n], seals[n] = proof_sec, seal_sec
            print(
                f"N={n:>7} events: seal {seal_sec * 1000:9.1f} ms   proof {proof_sec * 1000:8.2f} ms   "
                f"row {row_sec * 1000:6.2f} ms   proof/row {proof_sec / row_sec:8.1f}",
                flush=True,
            )
        sizes = sorted(results)
        if len(sizes) >= 2:
            print(
                f"proof {sizes[-1]} / proof {sizes[0]}: {results[sizes[-1]] / results[sizes[0]]:.2f}x "
                f"(for {sizes[-1] / sizes[0]:.0f}x the events); every proof verified offline"
            )
            print(
                f"seal {sizes[-1]} / seal {sizes[0]}: {seals[sizes[-1]] / seals[sizes[0]]:.2f}x (goal <= 1.3x for both)"
            )
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        sweep.admin_sql(url, f"DROP DATABASE IF EXISTS {sweep.SCRATCH}")


if __name__ == "__main__":
    sys.exit(main())
