"""Payments per segment on a real chain: the gateway pays each job with tickets, the orchestrator's intake
checks and credits them before anything is queued, and its redeemer gets the winning ones paid on chain.

The chain is Anvil with the protocol deployed (``chain`` fixture); the orchestrator's tables and queues are
moto's in-process AWS, provisioned from resources.json; the intake and the redeemer are the functions the
app's handlers call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from moto import mock_aws
from pydantic import SecretStr

from chalicelib.chain.protocol import Protocol
from chalicelib.chain.tickets import recipient_rand_hash
from chalicelib.chain.transactions import TxSender
from chalicelib.core.errors import ApiError
from chalicelib.core.resources import physical_name, queue_name
from chalicelib.intake.queue import JobsQueue
from chalicelib.intake.service import IntakeRules, PaymentRules, take_job
from chalicelib.jobs.models import JobOutput, TranscodeJob
from chalicelib.jobs.signing import sign_body
from chalicelib.jobs.urls import UrlPolicy
from chalicelib.payments.ledger import Ledger, Redemption
from chalicelib.payments.models import PaidJob, Price, TicketSenderParams
from chalicelib.payments.pricing import job_pixels
from chalicelib.payments.recipient import RecipientTerms, quote, recipient_secret
from chalicelib.payments.redemption import REQUEUE_AFTER_S, RedemptionQueue, handle_redemptions, requeue_unsettled
from chalicelib.payments.rpcview import RpcChainView
from chalicelib.payments.sender import Payer, QuoteBook, QuoteRefused, SenderTerms, check_quote
from chalicelib.payments.settlement import handle_usage
from chalicelib.streams.profiles import DEFAULT_PROFILES
from devstack.aws import provision
from tests.contracts.conftest import ETH, LPT, Chain

STAGE = "pay"
FACE_VALUE = 10**15
PRICE = Price(price_per_unit=3, pixels_per_unit=1000)  # 0.003 wei per pixel


@dataclass
class Market:
    """One orchestrator's intake and redeemer, one gateway paying it, over the test's chain and AWS."""

    chain: Chain
    protocol: Protocol
    view: RpcChainView
    orchestrator: LocalAccount
    gateway: LocalAccount
    terms: RecipientTerms
    rules: IntakeRules
    jobs: JobsQueue
    redemptions: RedemptionQueue
    ledger: Ledger
    payer: Payer
    sqs: Any

    def job(self, seq: int, orchestrator: str | None = None) -> TranscodeJob:
        """A two-rendition job for segment ``seq`` (public URLs, so the URL policy passes)."""
        base = "https://media.example/s/1"
        return TranscodeJob(
            job_id=f"stream-1/{seq}",
            stream_id="stream-1",
            seq=seq,
            source_url=f"{base}/source/{seq}.ts",
            source_bytes=1000,
            duration_ms=2000,
            outputs=[
                JobOutput(profile=p, key=f"r/{p.name}/{seq}.ts", upload_url=f"{base}/{p.name}/{seq}.ts")
                for p in DEFAULT_PROFILES[:2]
            ],
            result_key=f"results/{seq}.json",
            result_url=f"{base}/results/{seq}.json",
            orchestrator=orchestrator or self.orchestrator.address,
            created_at=self.rules.now_ms,
        )

    def paid(self, seq: int) -> PaidJob:
        """Job ``seq`` paid the way the gateway pays it."""
        return self.payer.pay(self.orchestrator.address, "http://unused.test", self.job(seq))

    def send(self, job: TranscodeJob, signer: LocalAccount | None = None) -> str | None:
        """POST the job to the intake as the gateway does (signed body); return the queue message id (None for
        a job taken before)."""
        body = json.dumps(job.wire(), separators=(",", ":")).encode()
        signature = sign_body(body, SecretStr((signer or self.gateway).key.hex()))
        taken = take_job(body, signature, self.rules, self.jobs)
        if taken.ticket_params_spent:  # a ticket won: the gateway asks for new parameters, as Payer.send does
            self.payer.book.put(self.orchestrator.address, quote(self.terms, self.view, self.gateway.address))
        return taken.message_id

    def refused(self, job: TranscodeJob, signer: LocalAccount | None = None) -> str:
        """Send a job that must be refused with 402; return the code, after checking nothing was queued."""
        with pytest.raises(ApiError) as refusal:
            self.send(job, signer)
        assert refusal.value.status == 402, refusal.value.body()
        assert self.queued() == []
        return refusal.value.code

    def queued(self) -> list[dict[str, Any]]:
        """The jobs queue's messages (received and then released)."""
        got = self.sqs.receive_message(QueueUrl=self.jobs.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]

    def winners(self) -> list[dict[str, Any]]:
        """Every message on the redemption queue, in the Lambda event record shape, left on the queue."""
        got = self.sqs.receive_message(QueueUrl=self.redemptions.url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [{"messageId": m["MessageId"], "body": m["Body"]} for m in got.get("Messages", [])]

    def redeem(self, records: list[dict[str, Any]], tx: TxSender | None = None) -> list[str]:
        """Run the redemption handler on ``records``; return the message ids it asks to retry."""
        answer = handle_redemptions(
            {"Records": records},
            terms=self.terms,
            protocol=self.protocol,
            tx=tx or TxSender(self.chain.w3, self.orchestrator, poll_s=0.002),
            view=self.view,
            ledger=self.ledger,
        )
        return [f["itemIdentifier"] for f in answer["batchItemFailures"]]

    def credited(self) -> int:
        """ETH credited on chain to the orchestrator by redeemed tickets."""
        return int(self.protocol.broker.functions.recipientCredit(self.orchestrator.address).call()[0])


def _market(chain: Chain, *, ticket_ev: int, deposit: int = ETH, reserve: int = ETH, min_face_to_ev: int = 2) -> Market:
    orchestrator = chain.active_orchestrator(1_000 * LPT)
    gateway = chain.new_account(eth=10 * ETH)
    chain.tx(chain.broker.functions.fundDepositAndReserve(deposit, reserve), gateway.address, deposit + reserve)
    protocol = Protocol(chain.w3, chain.deployment)
    view = RpcChainView(protocol)
    terms = RecipientTerms(
        address=orchestrator.address,
        secret=recipient_secret(orchestrator.key),
        price=PRICE,
        face_value=FACE_VALUE,
        ticket_ev=ticket_ev,
        min_face_to_ev=min_face_to_ev,
    )
    sqs = __import__("boto3").client("sqs", region_name="us-east-1")
    ddb = __import__("boto3").resource("dynamodb", region_name="us-east-1")
    ledger = Ledger(*(ddb.Table(physical_name(STAGE, t)) for t in ("tickets", "balances", "charges")))
    jobs = JobsQueue(sqs, sqs.get_queue_url(QueueName=queue_name(STAGE, "jobs"))["QueueUrl"])
    redemptions = RedemptionQueue(sqs, sqs.get_queue_url(QueueName=queue_name(STAGE, "redemptions"))["QueueUrl"])
    rules = IntakeRules(
        my_address=orchestrator.address,
        allowed_gateways=[],
        url_policy=UrlPolicy.allowing([]),
        max_job_age_ms=300_000,
        now_ms=chain.w3.eth.get_block("latest")["timestamp"] * 1000,
        payments=PaymentRules(terms, view, ledger, redemptions),
    )
    book = QuoteBook()
    book.put(orchestrator.address, quote(terms, view, gateway.address))
    payer = Payer(
        SenderTerms(gateway.address, gateway.key.hex(), Decimal(1), max_ticket_ev=FACE_VALUE),
        view,
        book,
        requests.Session(),
        timeout_s=1,
    )
    return Market(chain, protocol, view, orchestrator, gateway, terms, rules, jobs, redemptions, ledger, payer, sqs)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        provision(STAGE, ("gateway", "orchestrator"), None)
        yield


@pytest.fixture
def market(chain: Chain, aws: None) -> Market:
    """Tickets that rarely win (expected value 1e9 wei of a 1e15 face value)."""
    return _market(chain, ticket_ev=10**9)


@pytest.fixture
def lottery(chain: Chain, aws: None) -> Market:
    """Tickets that always win (expected value = face value, an operator's choice), so every one is redeemed."""
    return _market(chain, ticket_ev=FACE_VALUE, min_face_to_ev=1)


# ------------------------------------------------------------------------------------------- the paid path


def test_a_paid_job_is_credited_charged_and_queued_without_its_payment(market: Market) -> None:
    job = market.paid(1)
    assert job.payment is not None
    fee = PRICE.fee(job_pixels(job))
    credit = int(len(job.payment.tickets) * job.payment.ticket_params.expected_value)
    assert credit >= fee > 0
    market.send(job)
    (queued,) = market.queued()
    assert queued["jobId"] == "stream-1/1" and "payment" not in queued
    assert market.ledger.balance(market.gateway.address) == credit - fee


def test_the_same_job_delivered_twice_is_charged_and_queued_once(market: Market) -> None:
    job = market.paid(2)
    assert market.send(job) is not None
    balance = market.ledger.balance(market.gateway.address)
    assert market.send(job) is None  # the identical body again: taken before, nothing new
    repaid = market.paid(2)  # the gateway's retry with fresh tickets: credited, not charged again
    assert market.send(repaid) is None
    assert len(market.queued()) == 1
    assert repaid.payment is not None
    extra = int(len(repaid.payment.tickets) * repaid.payment.ticket_params.expected_value)
    assert market.ledger.balance(market.gateway.address) == balance + extra


def test_sender_nonces_increase_strictly_across_jobs(market: Market) -> None:
    nonces = [t.sender_nonce for seq in range(3) for t in market.paid(seq).payment.tickets]  # type: ignore[union-attr]
    assert nonces == sorted(nonces) and len(set(nonces)) == len(nonces)


# ------------------------------------------------------------------------------------- each bad payment


def test_a_job_without_tickets_is_refused(market: Market) -> None:
    assert market.refused(market.job(1)) == "payment_missing"
    job = market.paid(1)
    assert job.payment is not None
    empty = job.model_copy(update={"payment": job.payment.model_copy(update={"tickets": []})})
    assert market.refused(empty) == "payment_missing"


def test_a_forged_ticket_signature_is_refused(market: Market) -> None:
    job = market.paid(1)
    assert job.payment is not None
    forger = Account.create()
    params = job.payment.ticket_params
    from chalicelib.chain.tickets import sign_ticket

    forged = [
        TicketSenderParams(
            sender_nonce=t.sender_nonce, sig=sign_ticket(params.ticket(job.payment.sender, t.sender_nonce), forger.key)
        )
        for t in job.payment.tickets
    ]
    bad = job.model_copy(update={"payment": job.payment.model_copy(update={"tickets": forged})})
    assert market.refused(bad) == "ticket_bad_signature"


def test_a_job_signed_by_someone_else_than_the_sender_is_refused(market: Market) -> None:
    assert market.refused(market.paid(1), signer=Account.create()) == "payment_not_from_signer"


def test_tickets_to_another_recipient_are_refused(chain: Chain, market: Market) -> None:
    other = chain.active_orchestrator(1_000 * LPT)
    other_terms = replace(market.terms, address=other.address, secret=recipient_secret(other.key))
    market.payer.book.put(other.address, quote(other_terms, market.view, market.gateway.address))
    job = market.payer.pay(other.address, "http://unused.test", market.job(1))
    assert market.refused(job) == "ticket_wrong_recipient"


def test_altered_ticket_parameters_are_refused(market: Market) -> None:
    job = market.paid(1)
    assert job.payment is not None
    params = job.payment.ticket_params.model_copy(update={"win_prob": job.payment.ticket_params.win_prob * 2})
    altered = job.model_copy(update={"payment": job.payment.model_copy(update={"ticket_params": params})})
    assert market.refused(altered) == "ticket_params_unknown"
    fake = job.payment.ticket_params.model_copy(update={"recipient_rand_hash": recipient_rand_hash(7)})
    faked = job.model_copy(update={"payment": job.payment.model_copy(update={"ticket_params": fake})})
    assert market.refused(faked) == "ticket_params_unknown"


def test_a_replayed_nonce_is_refused(market: Market) -> None:
    first = market.paid(1)
    market.send(first)
    market.sqs.purge_queue(QueueUrl=market.jobs.url)
    assert first.payment is not None
    replay = market.job(2)
    replayed = PaidJob(**dict(replay), payment=first.payment)  # the same tickets for another job
    balance = market.ledger.balance(market.gateway.address)
    assert market.refused(replayed) == "ticket_replayed"
    assert market.ledger.balance(market.gateway.address) == balance


def test_expired_ticket_parameters_are_refused(chain: Chain, market: Market) -> None:
    job = market.paid(1)
    for _ in range(chain.deployment.params.ticket_validity_period):
        chain.next_round()
    assert market.refused(job) == "ticket_expired"


def test_a_sender_that_started_to_unlock_is_refused(chain: Chain, market: Market) -> None:
    job = market.paid(1)
    chain.tx(chain.broker.functions.unlock(), market.gateway.address)
    assert market.refused(job) == "sender_unlocking"


def test_a_sender_whose_money_cannot_cover_the_face_value_is_refused(chain: Chain, aws: None) -> None:
    # Funded for exactly one face value; another orchestrator's winning ticket then takes most of it.
    poor = _market(chain, ticket_ev=10**9, deposit=FACE_VALUE, reserve=0)
    job = poor.paid(1)
    rival = chain.active_orchestrator(1_000 * LPT)
    ticket, sig, rand = chain.make_ticket(poor.gateway, rival.address, FACE_VALUE // 2)
    chain.redeem(ticket, sig, rand)
    assert poor.refused(job) == "sender_underfunded"


def test_too_few_tickets_for_the_fee_are_refused_and_kept_as_credit(chain: Chain, aws: None) -> None:
    market = _market(chain, ticket_ev=25_000)  # a segment's fee (about 60,000 wei) takes three tickets
    job = market.paid(1)
    assert job.payment is not None and len(job.payment.tickets) > 1
    short = job.model_copy(update={"payment": job.payment.model_copy(update={"tickets": job.payment.tickets[:1]})})
    assert market.refused(short) == "insufficient_balance"
    one = int(job.payment.ticket_params.expected_value)
    assert market.ledger.balance(market.gateway.address) == one  # the ticket counts toward the next job
    # The same body delivered again is refused again, not answered as a job taken, and not credited twice.
    assert market.refused(short) == "insufficient_balance"
    assert market.ledger.balance(market.gateway.address) == one and market.queued() == []


def test_a_payment_expecting_a_lower_price_is_refused(market: Market) -> None:
    job = market.paid(1)
    assert job.payment is not None
    cheap = job.payment.model_copy(update={"expected_price": Price(price_per_unit=1, pixels_per_unit=1000)})
    assert market.refused(job.model_copy(update={"payment": cheap})) == "price_mismatch"


# ----------------------------------------------------------------------------------------- redemption


def test_winning_tickets_are_redeemed_once_for_their_face_value(chain: Chain, lottery: Market) -> None:
    for seq in range(3):
        lottery.send(lottery.paid(seq))
    records = lottery.winners()
    assert len(records) >= 3
    before = lottery.credited()
    # A redeemer stops after the first message; a new one (new process) takes the whole queue again.
    assert lottery.redeem(records[:1]) == []
    assert lottery.credited() - before == FACE_VALUE
    restarted = TxSender(chain.w3, lottery.orchestrator, poll_s=0.002)
    assert lottery.redeem(records, tx=restarted) == []
    assert lottery.redeem(records, tx=restarted) == []  # every message delivered once more
    assert lottery.credited() - before == FACE_VALUE * len(records)
    for record in records:
        saved = lottery.ledger.ticket(json.loads(record["body"])["key"])
        assert saved is not None and saved["redemption"] == Redemption.REDEEMED
        assert saved.get("note") == "found used on chain" or int(saved["gasUsed"]) > 0


def test_a_winning_ticket_past_its_validity_is_dropped_unredeemed(chain: Chain, lottery: Market) -> None:
    lottery.send(lottery.paid(1))
    records = lottery.winners()
    for _ in range(chain.deployment.params.ticket_validity_period):
        chain.next_round()
    before = lottery.credited()
    assert lottery.redeem(records) == []
    assert lottery.credited() == before
    saved = lottery.ledger.ticket(json.loads(records[0]["body"])["key"])
    assert saved is not None and saved["redemption"] == Redemption.EXPIRED


def test_a_winner_whose_queue_message_was_lost_is_sent_again_and_paid_once(lottery: Market) -> None:
    lottery.send(lottery.paid(1))
    lottery.sqs.purge_queue(QueueUrl=lottery.redemptions.url)  # the message is lost
    now = lottery.rules.now_ms // 1000
    assert requeue_unsettled(lottery.ledger, lottery.redemptions, now) == 0  # still fresh: it may be on its way
    assert requeue_unsettled(lottery.ledger, lottery.redemptions, now + REQUEUE_AFTER_S + 1) == 1
    before = lottery.credited()
    assert lottery.redeem(lottery.winners()) == []
    assert lottery.credited() - before == FACE_VALUE
    assert requeue_unsettled(lottery.ledger, lottery.redemptions, now + 10 * REQUEUE_AFTER_S) == 0  # redeemed now


def test_before_a_new_round_is_initialized_tickets_name_the_last_initialized_one(chain: Chain, market: Market) -> None:
    chain.next_round(initialize=False)
    fresh = quote(market.terms, market.view, market.gateway.address)
    assert fresh.ticket_params.expiration_params.creation_round == chain.current_round() - 1
    market.payer.book.put(market.orchestrator.address, fresh)
    market.send(market.paid(1))
    assert len(market.queued()) == 1


def _take(market: Market, job: PaidJob) -> Any:
    body = json.dumps(job.wire(), separators=(",", ":")).encode()
    return take_job(body, sign_body(body, SecretStr(market.gateway.key.hex())), market.rules, market.jobs)


def test_a_job_paid_from_an_older_round_is_answered_with_a_fresh_quote_the_gateway_then_pays_from(
    chain: Chain, market: Market
) -> None:
    # At a round's turn no segment waits for a quote: the old one is still good, and the answer renews it.
    old = market.paid(1)
    assert _take(market, old).renewed is None  # the quote is of the last initialized round: nothing to renew
    chain.next_round()
    taken = _take(market, market.paid(2))
    assert taken.renewed is not None
    assert taken.renewed.ticket_params.expiration_params.creation_round == chain.current_round()
    market.payer.renew(market.orchestrator.address, taken.renewed)
    after = market.paid(3)
    assert after.payment is not None
    assert after.payment.ticket_params.recipient_rand_hash == taken.renewed.ticket_params.recipient_rand_hash
    market.send(after)
    assert len(market.queued()) == 3


def test_a_senders_item_forgets_the_marks_of_quotes_no_ticket_can_be_redeemed_from(
    chain: Chain, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chalicelib.payments.ledger.QUOTES_KEPT", 4)  # looked at every 4 payments
    sender = market.gateway.address

    def marks() -> set[str]:
        item = market.ledger.balances.get_item(Key={"sender": sender}, ConsistentRead=True)["Item"]
        return {name for name in item if name.startswith("q:")}

    sent: list[PaidJob] = []

    def pay_from_a_fresh_quote(seq: int) -> str:
        fresh = quote(market.terms, market.view, sender)
        market.payer.book.put(market.orchestrator.address, fresh)
        sent.append(market.paid(seq))
        market.send(sent[-1])
        return "q:0x" + fresh.ticket_params.recipient_rand_hash.hex()

    old = {pay_from_a_fresh_quote(seq) for seq in range(6)}  # a stranger's gateway asking for quote after quote
    assert marks() == old  # the 4th payment looked, but all were of this round: a replay of any is still refused
    for _ in range(3):
        chain.next_round()  # now no ticket of those quotes can be redeemed, so no replay of one matters
    new = {pay_from_a_fresh_quote(6), pay_from_a_fresh_quote(7)}  # the 8th payment looks again
    assert len(marks() - new) == 2  # and removed as many as it keeps (4), bounding one write's size
    new |= {pay_from_a_fresh_quote(seq) for seq in range(8, 12)}  # the 12th payment looks again
    assert marks() == new
    # The sender replays a payment whose quote's mark is gone, hoping for credit or work: its tickets are of a
    # round no longer redeemable, so it is refused and gains nothing.
    balance = market.ledger.balance(sender)
    with pytest.raises(ApiError) as replayed:
        market.send(sent[0].model_copy(update={"seq": 99, "job_id": "stream-1/99"}))
    assert (replayed.value.status, replayed.value.code) == (402, "ticket_expired")
    assert market.ledger.balance(sender) == balance and marks() == new


def test_a_job_whose_ticket_won_is_answered_with_a_fresh_quote(lottery: Market) -> None:
    first = lottery.paid(1)
    taken = _take(lottery, first)
    assert taken.ticket_params_spent and taken.renewed is not None and first.payment is not None
    assert taken.renewed.ticket_params.recipient_rand_hash != first.payment.ticket_params.recipient_rand_hash
    lottery.payer.renew(lottery.orchestrator.address, taken.renewed)
    _take(lottery, lottery.paid(2))  # paid from the renewed quote: taken


def test_a_finished_job_is_charged_for_the_pixels_it_made_once(market: Market) -> None:
    job = market.paid(1)
    market.send(job)
    assert job.payment is not None
    (queued,) = market.queued()
    assert queued["payer"] == market.gateway.address  # whom the worker's usage report settles with
    charged_ahead = PRICE.fee(job_pixels(job))
    balance = market.ledger.balance(market.gateway.address)
    made = job_pixels(job) // 3  # the source was smaller than the profiles: fewer pixels than the bound
    assert queued["charge"]["fee"] == charged_ahead  # what the intake charged ahead travels with the job
    report = {"jobId": job.job_id, "payer": market.gateway.address, "pixels": made, "charge": queued["charge"]}
    records = [{"messageId": f"m{i}", "body": json.dumps(report)} for i in range(2)]  # delivered twice
    assert handle_usage({"Records": records}, market.ledger) == {"batchItemFailures": []}
    back = charged_ahead - PRICE.fee(made)
    assert back > 0 and market.ledger.balance(market.gateway.address) == balance + back


# ----------------------------------------------------------------------------- an attacker's view (review)


def test_once_a_ticket_won_its_quote_is_retired_so_no_losing_only_tickets_follow(lottery: Market) -> None:
    # After a winner is redeemed its recipientRand is public: a sender could then pick nonces whose tickets lose.
    first, second = lottery.paid(1), lottery.paid(2)  # both from the same quote
    lottery.send(first)  # a winner: the quote is retired (and the gateway told so)
    lottery.sqs.purge_queue(QueueUrl=lottery.jobs.url)
    assert lottery.refused(second) == "ticket_params_spent"
    lottery.send(lottery.paid(3))  # made from the new quote: taken


def test_the_gateway_refuses_a_quote_whose_ticket_is_worth_too_much(market: Market) -> None:
    greedy = replace(market.terms, ticket_ev=FACE_VALUE, min_face_to_ev=1)  # one certain winner: the deposit
    offered = quote(greedy, market.view, market.gateway.address)
    with pytest.raises(QuoteRefused) as refused:
        check_quote(
            offered, replace(market.payer.terms, max_ticket_ev=10**12), market.orchestrator.address, market.view
        )
    assert refused.value.code == "ticket_ev_too_high"


def test_a_sender_whose_money_is_under_two_tickets_gets_no_quote(chain: Chain, aws: None) -> None:
    with pytest.raises(ApiError) as refusal:  # setting the market up asks the orchestrator for a quote
        _market(chain, ticket_ev=10**9, deposit=10**9, reserve=0)  # a face value this low: nearly every ticket wins
    assert (refusal.value.status, refusal.value.code) == (402, "sender_underfunded")


def test_unredeemed_winners_together_never_exceed_the_senders_money(chain: Chain, aws: None) -> None:
    # Each winner alone is covered by the deposit, but the broker pays them one after another from the same
    # money: a sender funded for two winners must not get work for a third (it would go unpaid).
    lottery = _market(chain, ticket_ev=FACE_VALUE, deposit=2 * FACE_VALUE, reserve=0, min_face_to_ev=1)
    sender = lottery.gateway.address
    lottery.send(lottery.paid(1))
    lottery.send(lottery.paid(2))
    assert lottery.ledger.pending_winnings(sender) == 2 * FACE_VALUE
    lottery.sqs.purge_queue(QueueUrl=lottery.jobs.url)
    third = lottery.paid(3)
    assert lottery.refused(third) == "sender_underfunded"
    records = lottery.winners()
    assert len(records) == 2  # the refused winner was neither recorded nor queued for redemption
    before = lottery.credited()
    assert lottery.redeem(records) == []
    assert lottery.credited() - before == 2 * FACE_VALUE  # both taken winners paid in full
    assert lottery.ledger.pending_winnings(sender) == 0  # each left the pending sum once, when redeemed
    assert lottery.redeem(records) == [] and lottery.ledger.pending_winnings(sender) == 0  # delivered again


def test_an_orchestrator_outside_the_active_set_takes_no_tickets(chain: Chain, market: Market) -> None:
    # The broker pays only active orchestrators: tickets taken after leaving the set would go unpaid.
    job = market.paid(1)
    orchestrator = market.orchestrator.address
    chain.tx(chain.bonding.functions.unbond(chain.stake(orchestrator)), orchestrator)
    chain.next_round()
    assert not market.protocol.is_active_transcoder(orchestrator)
    for attempt in (lambda: market.send(job), lambda: quote(market.terms, market.view, market.gateway.address)):
        with pytest.raises(ApiError) as refusal:
            attempt()
        assert (refusal.value.status, refusal.value.code) == (503, "orchestrator_not_active")
    assert market.queued() == [] and market.winners() == []


def test_a_job_id_paid_again_with_other_content_gets_no_work_it_did_not_pay_for(market: Market) -> None:
    # A gateway (or someone replaying its body) must not swap a charged job for another one under the same id.
    first = market.paid(1)
    market.send(first)
    swapped = market.job(1).model_copy(update={"source_url": "https://media.example/s/1/source/other.ts"})
    assert market.send(market.payer.pay(market.orchestrator.address, "http://unused.test", swapped)) is None
    [queued] = market.queued()  # taken as the same job paid again: credited, neither charged nor queued
    assert queued["sourceUrl"] == first.source_url
    after = market.paid(2)
    assert market.send(after) is not None  # the next job of the same quote is charged and queued as usual


def test_a_sender_cannot_write_its_own_charge_into_a_job(market: Market) -> None:
    job = market.paid(1)
    forged = {"pixels": 1, "fee": 0, "pricePerUnit": 0, "pixelsPerUnit": 1}
    market.send(PaidJob.model_validate({**job.wire(), "charge": forged}))
    (queued,) = market.queued()
    assert queued["charge"]["fee"] == PRICE.fee(job_pixels(job)) > 0  # the intake's own, not the sender's


class _StoppingQueue(JobsQueue):
    """A jobs queue whose sends fail (SQS unreachable): the job cannot be queued after it was charged."""

    def send(self, job: TranscodeJob) -> str:
        raise ConnectionError("SQS is unreachable")


def test_a_job_that_could_not_be_queued_is_not_charged_and_is_taken_when_sent_again(market: Market) -> None:
    job = market.paid(1)
    body = json.dumps(job.wire(), separators=(",", ":")).encode()
    signature = sign_body(body, SecretStr(market.gateway.key.hex()))
    credit = market.ledger.balance(market.gateway.address)
    with pytest.raises(ConnectionError):
        take_job(body, signature, market.rules, _StoppingQueue(market.sqs, market.jobs.url))
    assert market.queued() == []
    account = market.ledger.balances.get_item(Key={"sender": market.gateway.address})["Item"]
    assert account["jobs"] == 0 and account["charged"] == 0  # the charge was taken back; the tickets stay credited
    assert market.ledger.balance(market.gateway.address) > credit
    # The same body again is not taken as done (it was never queued): its tickets are spent, so the gateway
    # pays afresh, and that job is charged and queued once.
    with pytest.raises(ApiError) as refusal:
        take_job(body, signature, market.rules, market.jobs)
    assert refusal.value.code == "ticket_replayed"
    again = json.dumps(market.paid(1).wire(), separators=(",", ":")).encode()
    again_signature = sign_body(again, SecretStr(market.gateway.key.hex()))
    assert take_job(again, again_signature, market.rules, market.jobs).message_id is not None
    assert take_job(again, again_signature, market.rules, market.jobs).message_id is None  # delivered again
    assert len(market.queued()) == 1
    account = market.ledger.balances.get_item(Key={"sender": market.gateway.address})["Item"]
    assert account["jobs"] == 1 and account["charged"] == PRICE.fee(job_pixels(job))  # charged once
