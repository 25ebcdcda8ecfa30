"""What paying for a segment adds to taking it, measured on the payment path alone.

The pipeline bench (``pipeline_latency.py``) measures upload → 202 with and without payment on the whole
local stack, where two workers transcoding 720p, Anvil and the chain pollers share two cores: its difference
mixes payment with that contention. This bench runs only what payment adds, in one process against moto's
server over HTTP (as the stack's functions reach it), job after job:

- unpaid: the intake takes a signed job and queues it (off-chain mode);
- paid: the gateway pays the job (the quote's next nonces, tickets signed) and the intake checks the tickets,
  credits them and charges the fee in one conditional write of the sender's item (one transaction when a
  ticket won, with the winners' records), queues the job, and sends each winner to the redemption queue.

The chain is a fixed view (round, deposit): in the functions it is a cached read of the projections, refreshed
behind the requests, so it costs nothing per segment. Two ticket lotteries: the local stack's (one ticket in
five wins, so about every other segment carries a winner) and a production-like one (one in a thousand).
It prints p50/p95 of each path and of the difference (target: p95 under 20 ms), and the paid path's steps.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from statistics import quantiles
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
import requests
from eth_account import Account
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from chalicelib.core.logs import logger
from chalicelib.core.resources import physical_name, queue_name
from chalicelib.intake.queue import JobsQueue
from chalicelib.intake.service import IntakeRules, PaymentRules, take_job
from chalicelib.jobs.models import JobOutput, TranscodeJob
from chalicelib.jobs.signing import sign_body
from chalicelib.jobs.urls import UrlPolicy
from chalicelib.payments.chainview import RoundView, SenderFunds
from chalicelib.payments.ledger import Ledger
from chalicelib.payments.models import Price
from chalicelib.payments.recipient import RecipientTerms, quote, recipient_secret
from chalicelib.payments.redemption import RedemptionQueue
from chalicelib.payments.sender import Payer, QuoteBook, SenderTerms
from chalicelib.streams.profiles import DEFAULT_PROFILES
from devstack.aws import provision
from devstack.net import free_port
from devstack.network import TICKET_EV_WEI

console = Console()
STAGE = "paybench"
TARGET_P95_MS = 20.0
ETH = 10**18
PRICE = Price(price_per_unit=12, pixels_per_unit=10)  # orch-a's 1.2 wei per pixel


class FixedChain:
    """The chain as the cached projections answer it in steady state: one round, a funded sender."""

    def current_round(self) -> RoundView:
        return RoundView(10, 10, b"\x11" * 32)

    def sender_funds(self, sender: str, recipient: str) -> SenderFunds:
        return SenderFunds(ETH, ETH // 4, 0, True)

    def ticket_validity_period(self) -> int:
        return 2


@dataclass
class Steps:
    """Milliseconds per step of each paid job."""

    times: dict[str, list[float]]

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.times[name].append((time.perf_counter() - started) * 1000)


def percentile(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else quantiles(values, n=100, method="inclusive")[q - 1]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server as its own process, as the local stack runs it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                requests.get(url, timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait(10)


def make_job(seq: int, orchestrator: str, now_ms: int) -> TranscodeJob:
    """A 2 s segment's job for the default ladder (public URLs: the policy passes)."""
    base = "https://media.example/s/bench"
    return TranscodeJob(
        job_id=f"bench/{seq}",
        stream_id="bench",
        seq=seq,
        source_url=f"{base}/source/{seq}.ts",
        source_bytes=1_000_000,
        duration_ms=2000,
        outputs=[
            JobOutput(profile=p, key=f"r/{p.name}/{seq}.ts", upload_url=f"{base}/{p.name}/{seq}.ts")
            for p in DEFAULT_PROFILES
        ],
        result_key=f"results/{seq}.json",
        result_url=f"{base}/results/{seq}.json",
        orchestrator=orchestrator,
        created_at=now_ms,
    )


def run(count: int, win_one_in: int) -> dict[str, Any]:
    """Take ``count`` jobs unpaid and ``count`` paid (interleaved); return the figures."""
    orchestrator, gateway = Account.create(), Account.create()
    ddb = boto3.resource("dynamodb")
    sqs = boto3.client("sqs")
    tables = {t: ddb.Table(physical_name(STAGE, t)) for t in ("tickets", "balances", "charges")}
    ledger = Ledger(tables["tickets"], tables["balances"], tables["charges"])
    jobs = JobsQueue(sqs, sqs.get_queue_url(QueueName=queue_name(STAGE, "jobs"))["QueueUrl"])
    redemptions = RedemptionQueue(sqs, sqs.get_queue_url(QueueName=queue_name(STAGE, "redemptions"))["QueueUrl"])
    view = FixedChain()
    terms = RecipientTerms(
        address=orchestrator.address,
        secret=recipient_secret(orchestrator.key),
        price=PRICE,
        face_value=TICKET_EV_WEI * win_one_in,
        ticket_ev=TICKET_EV_WEI,
    )
    now_ms = int(time.time() * 1000)
    paid_rules = IntakeRules(
        orchestrator.address, [], UrlPolicy(), 300_000, now_ms, PaymentRules(terms, view, ledger, redemptions)
    )
    free_rules = IntakeRules(orchestrator.address, [gateway.address], UrlPolicy(), 300_000, now_ms)
    book = QuoteBook()
    book.put(orchestrator.address, quote(terms, view, gateway.address))
    sender = SenderTerms(gateway.address, gateway.key.hex(), Decimal(2), max_ticket_ev=10**12)
    payer = Payer(sender, view, book, requests.Session(), timeout_s=1)
    key = SecretStr(gateway.key.hex())
    unpaid_ms: list[float] = []
    paid_ms: list[float] = []
    steps = Steps(defaultdict(list))
    winners = 0
    for seq in range(count):
        job = make_job(seq, orchestrator.address, now_ms)
        started = time.perf_counter()
        body = json.dumps(job.wire(), separators=(",", ":")).encode()
        take_job(body, sign_body(body, key), free_rules, jobs)
        unpaid_ms.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        with steps.step("gateway: pay (nonces, sign tickets)"):
            paid = payer.pay(orchestrator.address, "http://unused.test", job)
        body = json.dumps(paid.wire(), separators=(",", ":")).encode()
        with steps.step("intake: check, ledger, queue"):
            taken = take_job(body, sign_body(body, key), paid_rules, jobs)
        paid_ms.append((time.perf_counter() - started) * 1000)
        if taken.ticket_params_spent:
            winners += 1
            if taken.renewed is not None:
                payer.renew(orchestrator.address, taken.renewed)
    return {"unpaid": unpaid_ms, "paid": paid_ms, "steps": steps.times, "winners": winners, "count": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200, help="jobs per lottery, each taken unpaid and paid")
    args = parser.parse_args()
    logger.setLevel("WARNING")  # a log line per job would be measured too
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    with moto_server() as url:
        os.environ["AWS_ENDPOINT_URL"] = url
        provision(STAGE, ("gateway", "orchestrator"), url)
        lotteries = {"1 in 5 wins (local stack)": 5, "1 in 1000 wins (production-like)": 1000}
        figures = {}
        for name, one_in in lotteries.items():
            console.print(f"{name}: {args.jobs} jobs ...")
            figures[name] = run(args.jobs, one_in)
    table = Table(title=f"what payment adds to taking a job, {args.jobs} jobs each (ms)")
    for column in ("", "unpaid p50", "unpaid p95", "paid p50", "paid p95", "added p50", "added p95"):
        table.add_column(column, justify="right" if column else "left")
    for name, f in figures.items():
        u50, u95 = percentile(f["unpaid"], 50), percentile(f["unpaid"], 95)
        p50, p95 = percentile(f["paid"], 50), percentile(f["paid"], 95)
        table.add_row(name, *(f"{v:.1f}" for v in (u50, u95, p50, p95, p50 - u50, p95 - u95)))
    console.print(table)
    steps = Table(title="the paid path's steps (ms)")
    for column in ("lottery", "step", "p50", "p95"):
        steps.add_column(column, justify="right" if column in ("p50", "p95") else "left")
    for name, f in figures.items():
        for step, values in f["steps"].items():
            steps.add_row(name, step, f"{percentile(values, 50):.1f}", f"{percentile(values, 95):.1f}")
        steps.add_row(name, "jobs carrying a winner", f"{f['winners']}", f"of {f['count']}")
    console.print(steps)
    for name, f in figures.items():
        added = percentile(f["paid"], 95) - percentile(f["unpaid"], 95)
        verdict = "meets" if added < TARGET_P95_MS else "misses"
        console.print(f"{name}: payment adds p95 {added:+.1f} ms: {verdict} the {TARGET_P95_MS:.0f} ms target")


if __name__ == "__main__":
    main()
