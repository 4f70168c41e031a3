"""The periodic jobs, as settings: every job listed once in WEB3_PERIODIC_JOBS (name -> dotted
function), in the order `run_sweeps` runs them, and the ones that move money. A module of its own so
settings.py stays readable; openclaw.settings imports both names (tests may override them there)."""

# Beat runs each through one task (openclaw.periodic); `run_sweeps` runs them all in order.
WEB3_PERIODIC_JOBS: dict[str, str] = {
    "identity.purge_expired": "web3api.identity.services.purge_expired",
    "gateway.purge_idempotency": "web3api.idempotency.purge_expired",
    # Leases past expiresAt: expire and settle (used part released, the rest refunded).
    "leases.expire": "market.services.leases.lease_expire_sweep",
    "invocations.stale": "market.services.invoke.invocation_stale_sweep",
    # Agent sessions past their TTL: settle them (their agent vanished); unanswered approvals lapse.
    "sessions.expire": "market.services.sessions.session_expire_sweep",
    # Audit: give committed events their positions (beat runs this one every
    # WEB3_AUDIT_SEQUENCE_INTERVAL_SEC), seal them into a signed checkpoint, then anchor checkpoint
    # roots on the chain.
    "audit.sequence": "market.audit.sequencer.sequence_sweep",
    "audit.seal": "market.audit.checkpoints.seal_sweep",
    "audit.anchor": "market.audit.anchoring.anchor_sweep",
    # Funds on chain: credit confirmed deposits, send and confirm withdrawals, reconcile the vault.
    "funds.deposits": "market.services.funds_deposits.deposit_scan",
    "funds.withdrawals": "market.services.funds_withdrawals.withdrawal_sweep",
    "funds.reconcile": "market.services.funds_reconcile.vault_reconcile",
    # Task market: revoke undelivered awards (refund; the task reopens or expires), expire open
    # tasks, close dispute windows, pay out rulings (after audit.seal, whose checkpoint a ruling's
    # payout waits for).
    "tasks.undelivered": "market.services.task_sweeps.award_undelivered_sweep",
    "tasks.expire": "market.services.task_sweeps.task_expire_sweep",
    "tasks.dispute_window": "market.services.task_sweeps.receipt_window_sweep",
    "disputes.payout": "market.services.task_sweeps.dispute_payout_sweep",
    # Monitoring, last: evaluate the alert rules on what the sweeps left, then deliver (and retry)
    # alert notifications.
    "monitor.evaluate": "market.services.monitor.monitor_evaluate",
    # The operator's overview, stored for the console and web3.admin.overview (after the evaluation).
    "monitor.overview": "web3api.overview.overview_refresh",
    "monitor.notify": "market.services.notify.notify_sweep",
}
# Jobs that move money: one that fails counts as an operation failure (web3_ledger_failures_total).
WEB3_MONEY_JOBS = (
    "leases.expire",
    "invocations.stale",
    "sessions.expire",
    "tasks.undelivered",
    "tasks.expire",
    "tasks.dispute_window",
    "disputes.payout",
    "funds.deposits",
    "funds.withdrawals",
)
