"""Payments: probabilistic tickets per segment. The gateway sends them (``sender``), the orchestrator checks and
credits them before any work is queued (``recipient``), and winning tickets are redeemed on chain (``redeemer``)."""
