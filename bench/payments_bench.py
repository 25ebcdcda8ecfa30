"""Tickets per second per core: what a gateway makes and an orchestrator checks for every segment.

One process (one core) makes tickets as the gateway does (a quote's fields, a nonce, libsecp256k1's
signature over the ticket hash) and then checks them as the intake does (recover the signer and compare,
re-derive recipientRand by HMAC from the seed, test whether the ticket won). It prints tickets per second
for making, for checking, and for both (target: at least 5,000 made and checked per second per core).
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account
from rich.console import Console
from rich.table import Table

from chalicelib.chain.tickets import (
    is_valid_ticket_signature,
    is_winning_ticket,
    recipient_rand,
    recipient_rand_hash,
    sign_ticket,
    win_prob_for,
)
from chalicelib.payments.models import ExpirationParams, TicketParams

TARGET_PER_S = 5_000


def run(count: int) -> dict[str, float]:
    """Make then check ``count`` tickets; return tickets per second for each half and for both."""
    gateway, orchestrator = Account.create(), Account.create()
    secret, seed, block_hash = os.urandom(32), os.urandom(32), os.urandom(32)
    face_value = 250_000_000
    fields = dict(
        recipient=orchestrator.address,
        sender=gateway.address,
        face_value=face_value,
        win_prob=win_prob_for(50_000_000, face_value),
        creation_round=7,
        creation_round_block_hash=block_hash,
    )
    rand = recipient_rand(secret, seed, **fields)
    params = TicketParams(
        recipient=orchestrator.address,
        face_value=face_value,
        win_prob=fields["win_prob"],
        recipient_rand_hash=recipient_rand_hash(rand),
        seed=seed,
        expiration_params=ExpirationParams(creation_round=7, creation_round_block_hash=block_hash),
    )
    started = time.perf_counter()
    made = [(t, sign_ticket(t, gateway.key)) for t in (params.ticket(gateway.address, n) for n in range(1, count + 1))]
    making = time.perf_counter() - started
    started = time.perf_counter()
    won = 0
    for ticket, sig in made:
        # Worst case: a payment of one ticket, so recipientRand is derived again for each.
        derived = recipient_rand(secret, seed, **fields)
        if recipient_rand_hash(derived) != ticket.recipient_rand_hash or not is_valid_ticket_signature(ticket, sig):
            raise SystemExit("a ticket did not check out")
        won += is_winning_ticket(sig, derived, ticket.win_prob)
    checking = time.perf_counter() - started
    return {
        "made_per_s": count / making,
        "checked_per_s": count / checking,
        "both_per_s": count / (making + checking),
        "won_share": won / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    args = parser.parse_args()
    figures = run(args.tickets)
    table = Table(title=f"tickets per second on one core ({args.tickets:,} tickets, winProb 1/5)")
    table.add_column("")
    table.add_column("tickets/s", justify="right")
    table.add_row("made (gateway: fields, nonce, signature)", f"{figures['made_per_s']:,.0f}")
    table.add_row("checked (intake: signer, HMAC recipientRand, win)", f"{figures['checked_per_s']:,.0f}")
    table.add_row("made and checked", f"{figures['both_per_s']:,.0f}")
    Console().print(table)
    verdict = "meets" if figures["both_per_s"] >= TARGET_PER_S else "misses"
    print(f"made and checked: {figures['both_per_s']:,.0f}/s per core, {verdict} the {TARGET_PER_S:,}/s target; "
          f"{figures['won_share']:.1%} won")  # fmt: skip


if __name__ == "__main__":
    main()
