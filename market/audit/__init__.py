"""The audit log: every state change is an event in a hash chain, sealed into signed checkpoints of
a Merkle tree and anchored on a chain.

    hashchain.py     what an event's hash commits to (and the exact text of its time)
    log.py           the one write path: audit_record / audit_record_many, secrets redacted
    merkle.py        RFC 6962 tree hashing and inclusion paths, pure
    chunks.py        the tree as the database holds it: events plus stored chunk roots
    checkpoints.py   sealing: a signed checkpoint over the events not yet covered
    payout_gate.py   a ruling pays out once a checkpoint covers its event
    chain.py         the EVM chain adapter (web3.py)
    anchoring.py     each checkpoint's root sent to the chain through a stored transaction
    proofs.py        the offline proof verifier (standard library and eth-account only)
    verify.py        verify_audit: recompute the chain, checkpoints, chunks, anchors, ledger, leases

The models are in market/models/ (audit.py, checkpoints.py); reads in market/selectors/audit.py.
This file imports nothing, so that market.audit.proofs imports without Django.
"""
