"""Token settlement on an EVM chain: the settings that name the chain, the vault, the tokens and the
operator key (config), the web3 connection and the contracts (client), and deployment (deploy).
The money logic is in market.services.funds*; this package talks to the chain, and keeps the outbox
steps that anchors and withdrawals share (outbox: sign and store, broadcast, re-sign)."""
