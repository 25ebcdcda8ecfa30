"""Winning tickets on their way to the chain: the redemption queue, and the redeemer that drains it.

The queue is FIFO with one message group per orchestrator key, so one redeemer per key sends one
transaction at a time (no nonce races), and a ticket's hash is its deduplication id. A message carries the
ticket, the sender's signature and the quote's seed; the redeemer re-derives recipientRand from the seed,
so the secret number is not written anywhere before it is revealed on chain.

For each batch the redeemer skips what needs no transaction (already redeemed, found used on chain, out of
its validity window), leaves for later what cannot be paid yet (the sender's funds short: retried while the
ticket is valid), and redeems the rest in one transaction (``batchRedeemWinningTickets`` for several), then
records, per ticket, the transaction and its share of the gas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.logs import logger
from chalicelib.payments.chainview import ChainView
from chalicelib.payments.ledger import Ledger, Redemption
from chalicelib.payments.recipient import RecipientTerms, rand_for_ticket
from chalicelib.payments.winners import WinningTicket

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from chalicelib.chain.protocol import Protocol
    from chalicelib.chain.tickets import Ticket
    from chalicelib.chain.transactions import TxSender

#: How soon a winning ticket that could not be redeemed yet is tried again, in seconds.
RETRY_AFTER_S = 10
#: Revert codes that mean the ticket will never be paid (anything else is retried within its validity).
FINAL_REVERTS = {
    "ticket_not_winning",
    "ticket_bad_signature",
    "ticket_bad_recipient_rand",
    "ticket_bad_round_block_hash",
    "ticket_bad_aux_data",
    "ticket_bad_recipient",
    "ticket_bad_sender",
    "ticket_sender_unlocked",
    "ticket_broker_replaced",
    "ticket_face_value_too_large",
}


class RedemptionQueue:
    """The orchestrator's redemption queue (FIFO: one message group per recipient, deduplicated by hash)."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def send(self, winner: WinningTicket) -> str:
        """Queue a winning ticket; return the message id."""
        extra: dict[str, Any] = {}
        if self.url.endswith(".fifo"):
            extra = {"MessageGroupId": winner.ticket.recipient, "MessageDeduplicationId": winner.ticket.hash().hex()}
        return self._sqs.send_message(QueueUrl=self.url, MessageBody=winner.body(), **extra)["MessageId"]

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Have a received message come back in ``seconds`` rather than after the whole visibility timeout."""
        self._sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)


@dataclass(frozen=True)
class Received:
    """A message as the handler got it: its id (for ``batchItemFailures``) and the ticket."""

    message_id: str
    winner: WinningTicket


def redeem_batch(
    batch: Sequence[Received],
    *,
    terms: RecipientTerms,
    protocol: Protocol,
    tx: TxSender,
    view: ChainView,
    ledger: Ledger,
) -> list[str]:
    """Redeem what can be redeemed of ``batch``; return the ids of messages to retry later."""
    from chalicelib.chain.duties import ensure_round_initialized
    from chalicelib.chain.transactions import ChainReverted, ChainUnavailable

    retry: list[str] = []
    ready: list[Received] = []
    now = view.current_round().number
    validity = view.ticket_validity_period()
    for item in batch:
        w = item.winner
        record = ledger.ticket(w.key)
        if record is not None and record.get("redemption") == Redemption.REDEEMED:
            continue
        if protocol.broker.functions.isTicketUsed(w.ticket.hash(), w.ticket.creation_round).call():
            ledger.set_redemption(w.key, Redemption.REDEEMED, note="found used on chain")
            continue
        if now - w.ticket.creation_round >= validity:
            ledger.set_redemption(w.key, Redemption.EXPIRED)
            logger.warning("winning ticket expired unredeemed", ticket=w.key, face_value=w.ticket.face_value)
            continue
        if not view.sender_funds(w.ticket.sender, w.ticket.recipient).covers(w.ticket.face_value):
            logger.info("sender cannot pay this ticket now; retrying later", ticket=w.key)
            retry.append(item.message_id)
            continue
        ready.append(item)
    if not ready:
        return retry
    try:
        ensure_round_initialized(protocol, tx)  # a ticket cannot be redeemed in a round not yet initialized
    except (ChainReverted, ChainUnavailable) as error:
        logger.warning("could not initialize the round; redemption retried later", error=str(error))
        return retry + [r.message_id for r in ready]
    args = [
        (r.winner.ticket, bytes(r.winner.sig), rand_for_ticket(terms, r.winner.ticket, r.winner.seed)) for r in ready
    ]
    call = protocol.redeem_winning_ticket(*args[0]) if len(args) == 1 else protocol.batch_redeem_winning_tickets(args)
    try:
        sent = tx.send(call)
    except ChainUnavailable as error:
        logger.warning("chain unavailable; redemption retried later", error=str(error))
        return retry + [r.message_id for r in ready]
    except ChainReverted as error:
        # One ticket's own revert; a batch only reverts whole when out of gas, which is worth a retry.
        if len(ready) == 1 and error.code in FINAL_REVERTS:
            ledger.set_redemption(ready[0].winner.key, Redemption.FAILED, reason=error.code)
            logger.error("winning ticket refused for good", ticket=ready[0].winner.key, reason=error.code)
            return retry
        if len(ready) == 1 and error.code == "ticket_replayed":
            ledger.set_redemption(ready[0].winner.key, Redemption.REDEEMED, note="found used on chain")
            return retry
        logger.warning("redemption reverted; retried later", reason=error.code, tickets=len(ready))
        return retry + [r.message_id for r in ready]
    gas_each = sent.gas_used // len(ready)
    for r, arg in zip(ready, args, strict=True):
        w = r.winner
        if protocol.broker.functions.isTicketUsed(w.ticket.hash(), w.ticket.creation_round).call():
            ledger.set_redemption(
                w.key, Redemption.REDEEMED, txHash=sent.tx_hash, gasUsed=gas_each, feeWei=sent.fee_wei // len(ready)
            )
            logger.info(
                "winning ticket redeemed", ticket=w.key, tx=sent.tx_hash, gas=gas_each, face_value=w.ticket.face_value
            )
        else:  # skipped inside the batch: ask the broker why, then give up or retry while it is valid
            reason = _refusal(protocol, tx.address, arg)
            if reason in FINAL_REVERTS:
                ledger.set_redemption(w.key, Redemption.FAILED, reason=reason)
                logger.error("winning ticket refused for good", ticket=w.key, reason=reason)
            else:
                logger.warning("winning ticket skipped in its batch; retried later", ticket=w.key, reason=reason)
                retry.append(r.message_id)
    return retry


def _refusal(protocol: Protocol, sender: str, arg: tuple[Ticket, bytes, int]) -> str | None:
    """Why the broker would refuse this ticket now (a stable code), or None if it would pay it."""
    from web3.exceptions import ContractLogicError

    from chalicelib.chain.protocol import revert_code

    try:
        protocol.redeem_winning_ticket(*arg).call({"from": sender})
    except ContractLogicError as error:
        return revert_code(str(error.message or error))
    return None


def handle_redemptions(
    event: dict[str, Any],
    *,
    terms: RecipientTerms,
    protocol: Protocol,
    tx: TxSender,
    view: ChainView,
    ledger: Ledger,
    queue: RedemptionQueue | None = None,
) -> dict[str, Any]:
    """The redemption queue's handler: redeem the batch, answer Lambda's partial-failure response.

    A message to retry comes back after ``RETRY_AFTER_S`` (when ``queue`` is given), not the queue's whole
    visibility timeout: a ticket has a round or two to be redeemed in.
    """
    records = event.get("Records", [])
    batch = [Received(r["messageId"], WinningTicket.parse(r["body"])) for r in records]
    retry = redeem_batch(batch, terms=terms, protocol=protocol, tx=tx, view=view, ledger=ledger)
    if queue is not None:
        for record in records:
            if record["messageId"] in retry and record.get("receiptHandle"):
                queue.retry_in(record["receiptHandle"], RETRY_AFTER_S)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}


#: A pending winner older than this is sent to the queue again (its message may have been lost).
REQUEUE_AFTER_S = 120


def requeue_unsettled(ledger: Ledger, queue: RedemptionQueue, now_s: int) -> int:
    """Send again every winning ticket still pending after ``REQUEUE_AFTER_S``; return how many.

    The queue drops a message whose deduplication id (the ticket hash) it saw in the last five minutes, and
    the redeemer skips what is already redeemed, so sending again never pays twice.
    """
    winners = ledger.unsettled_winners(now_s - REQUEUE_AFTER_S)
    for winner in winners:
        queue.send(winner)
    if winners:
        logger.warning("winning tickets sent to the redemption queue again", tickets=len(winners))
    return len(winners)
