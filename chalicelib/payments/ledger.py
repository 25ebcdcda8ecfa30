"""The orchestrator's payment ledger in DynamoDB: tickets received, each sender's balance, each job's charge.

Three tables, written with conditions so that at-least-once delivery and concurrent intakes stay exact:

- ``tickets`` (``id`` = recipientRandHash:senderNonce): a ticket is recorded once; a second arrival is a
  replay. Winning tickets keep what the redeemer needs and their redemption state.
- ``balances`` (``sender``): wei credited by tickets minus fees charged. A ticket's worth is credited in the
  same transaction that records it, so a credit is never counted twice nor lost. ``pendingWinnings`` sums
  the face values of the sender's winning tickets not yet redeemed: a new winner is taken only while all of
  them together stay within the sender's deposit and reserve allocation (each alone always is, but the broker
  pays them one after another from the same money).
- ``charges`` (``id`` = sender:jobId): a job is charged once; the same job sent again (a gateway's retry)
  is not charged again, and is queued again only if it never was. The charge keeps a digest of the job, so
  a job id sent again with other content is refused (409 ``job_conflict``), and a claim on its queueing
  (``queueingAt``), so that two deliveries at once queue it once; a claim older than ``QUEUEING_CLAIM_S``
  (the intake that held it stopped before queueing) is taken over.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from chalicelib.core.errors import Conflict
from chalicelib.payments.errors import refused
from chalicelib.payments.models import Price
from chalicelib.payments.recipient import CheckedPayment, PaidTicket
from chalicelib.payments.winners import WinningTicket

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

#: Ticket records outlive their redemption window by a day, then DynamoDB's TTL removes them.
TICKET_TTL_S = 86_400 * 3
#: A delivery that charged a job but has not queued it after this long is taken to have stopped.
QUEUEING_CLAIM_S = 60


class Redemption(StrEnum):
    """Where a winning ticket is on its way to the chain."""

    PENDING = "pending"  # won; queued for the redeemer
    REDEEMED = "redeemed"  # paid on chain (by us, or found already used)
    EXPIRED = "expired"  # its validity window closed before it could be paid
    FAILED = "failed"  # the broker refuses it for good (e.g. the sender unlocked)


@dataclass(frozen=True)
class Charge:
    """The result of paying for a job: whether this call must queue it, or the queue message of the delivery
    that did (None while another delivery is queueing it right now)."""

    outcome: Literal["charged", "already_charged"]
    message_id: str | None
    fee: int
    #: This call holds the job's queueing claim: it queues the job, then calls ``mark_queued``.
    queue: bool = True


class _Refused(Exception):
    """A transaction cancelled by one of its conditions: which item (by position) refused."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(failed)
        self.failed = failed


class Ledger:
    """The orchestrator's three payment tables."""

    def __init__(self, tickets: Table, balances: Table, charges: Table) -> None:
        self.tickets = tickets
        self.balances = balances
        self.charges = charges
        # The resource's client: it takes plain Python values (the resource's serializer is hooked into it).
        self._client: DynamoDBClient = tickets.meta.client

    def pay(self, payment: CheckedPayment, job_id: str, price: Price, pixels: int, now_s: int, digest: str) -> Charge:
        """Record the tickets, credit them and charge the job's ``fee``: one transaction in the usual case.

        The tickets are credited even when the job is then refused (402 ``insufficient_balance``): the sender
        paid them, and the credit counts toward its next job. A ticket received before is a 402
        ``ticket_replayed`` (nothing recorded), unless this is the same job with the same tickets delivered
        again. A job charged before is not charged again: its queue message id comes back, if it was queued;
        one charged with another ``digest`` (the job's content) is a 409 ``job_conflict``.
        """
        fee = price.fee(pixels)
        tickets = self._ticket_puts(payment, job_id, now_s)
        need = fee - payment.credit  # what the balance must already hold
        balance = self._balance_update(payment.sender, payment.credit - fee, len(payment.tickets), fee, 1, need)
        charge = self._charge_put(payment.sender, job_id, price, pixels, now_s, digest)
        try:
            self._transact([*tickets, self._spent_guard(payment, now_s), charge, _with_winnings(balance, payment)])
            return Charge("charged", None, fee)
        except _Refused as refusal:
            if any(i < len(tickets) for i in refusal.failed):
                self._replayed_or_redelivered(payment, job_id, refusal.failed)
            elif len(tickets) in refusal.failed:
                raise _spent(payment) from None
            else:  # short of credit, or of money behind its winners: credit() tells which
                self.credit(payment, job_id, now_s)
        return self.charge(payment.sender, job_id, price, pixels, now_s, digest)

    def credit(self, payment: CheckedPayment, job_id: str, now_s: int) -> None:
        """Record every ticket (once) and credit the sender their worth, in one transaction; 402
        ``ticket_replayed`` if any ticket was received before, ``sender_underfunded`` if its winners and the
        sender's other unredeemed ones could not all be paid (then nothing is recorded or credited)."""
        tickets = self._ticket_puts(payment, job_id, now_s)
        balance = self._balance_update(payment.sender, payment.credit, len(payment.tickets), 0, 0, None)
        try:
            self._transact([*tickets, self._spent_guard(payment, now_s), _with_winnings(balance, payment)])
        except _Refused as refusal:
            if any(i < len(tickets) for i in refusal.failed):
                self._replayed_or_redelivered(payment, job_id, refusal.failed)
            elif len(tickets) in refusal.failed:
                raise _spent(payment) from None
            else:
                raise refused(
                    "sender_underfunded",
                    f"{payment.sender}'s unredeemed winning tickets ({self.pending_winnings(payment.sender)} wei) and "
                    f"this payment's leave its deposit and reserve allocation ({payment.funds} wei) short",
                ) from None

    def charge(self, sender: str, job_id: str, price: Price, pixels: int, now_s: int, digest: str) -> Charge:
        """Charge ``fee`` wei for a job, once: 402 ``insufficient_balance`` if the sender's balance is short
        (nothing is charged then); ``already_charged`` for a job charged before (``_charged_before``)."""
        fee = price.fee(pixels)
        try:
            self._transact(
                [
                    self._charge_put(sender, job_id, price, pixels, now_s, digest),
                    self._balance_update(sender, -fee, 0, fee, 1, fee),
                ]
            )
        except _Refused as refusal:
            if 0 in refusal.failed:
                return self._charged_before(sender, job_id, fee, now_s, digest)
            raise refused(
                "insufficient_balance",
                f"the job costs {fee} wei; {sender}'s tickets so far leave {self.balance(sender)} wei: send more",
            ) from None
        return Charge("charged", None, fee)

    def _charged_before(self, sender: str, job_id: str, fee: int, now_s: int, digest: str) -> Charge:
        """A job charged before, delivered again: take over its queueing if the delivery that charged it stopped
        before queueing it; else return its queue message id (None while that delivery is queueing it)."""
        key = {"id": f"{sender}:{job_id}"}
        try:
            self.charges.update_item(
                Key=key,
                UpdateExpression="SET queueingAt = :now",
                ConditionExpression="jobDigest = :d AND attribute_not_exists(messageId) AND queueingAt < :stale",
                ExpressionAttributeValues={":now": now_s, ":d": digest, ":stale": now_s - QUEUEING_CLAIM_S},
            )
            return Charge("already_charged", None, fee, queue=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        existing = self.charges.get_item(Key=key, ConsistentRead=True).get("Item", {})
        if existing.get("jobDigest") != digest:
            raise Conflict("job_conflict", f"job {job_id} was paid for and taken before with other content")
        message_id = existing.get("messageId")
        return Charge("already_charged", str(message_id) if message_id else None, fee, queue=False)

    # ------------------------------------------------------------------------------------- write items

    def _ticket_puts(self, payment: CheckedPayment, job_id: str, now_s: int) -> list[Any]:
        return [
            {
                "Put": {
                    "TableName": self.tickets.name,
                    "Item": _ticket_item(t, payment, job_id, now_s),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
            for t in payment.tickets
        ]

    def _spent_guard(self, payment: CheckedPayment, now_s: int) -> Any:
        """The write that retires a quote once one of its tickets won (its recipientRand will be revealed on
        chain, after which a sender could make only losing tickets), or checks that it is not retired."""
        key = {"id": f"spent:0x{payment.recipient_rand_hash.hex()}"}
        if payment.winners:
            item = {**key, "spentAt": now_s, "ttl": now_s + TICKET_TTL_S}
            return {
                "Put": {"TableName": self.tickets.name, "Item": item, "ConditionExpression": "attribute_not_exists(id)"}
            }
        return {
            "ConditionCheck": {
                "TableName": self.tickets.name,
                "Key": key,
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }

    def _charge_put(self, sender: str, job_id: str, price: Price, pixels: int, now_s: int, digest: str) -> Any:
        item = {
            "id": f"{sender}:{job_id}",
            "sender": sender,
            "jobId": job_id,
            "jobDigest": digest,
            # The delivery that charges the job holds its queueing claim.
            "queueingAt": now_s,
            "fee": price.fee(pixels),
            "pixels": pixels,
            "pricePerUnit": price.price_per_unit,
            "pixelsPerUnit": price.pixels_per_unit,
        }
        return {
            "Put": {
                "TableName": self.charges.name,
                "Item": {**item, "chargedAt": now_s},
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }

    def _balance_update(self, sender: str, delta: int, received: int, fee: int, jobs: int, need: int | None) -> Any:
        """ADD ``delta`` to the balance (and the counters); with ``need``, only if the balance holds that much
        (a missing balance holds nothing)."""
        update: dict[str, Any] = {
            "TableName": self.balances.name,
            "Key": {"sender": sender},
            "UpdateExpression": "ADD balance :delta, received :received, charged :fee, jobs :jobs",
            "ExpressionAttributeValues": {":delta": delta, ":received": received, ":fee": fee, ":jobs": jobs},
        }
        if need is not None:
            update["ConditionExpression"] = "(attribute_not_exists(balance) AND :zero >= :need) OR balance >= :need"
            update["ExpressionAttributeValues"].update({":zero": 0, ":need": need})
        return {"Update": update}

    def _transact(self, items: list[Any]) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            failed = [i for i, code in enumerate(reasons) if code == "ConditionalCheckFailed"]
            if not failed:  # a conflict with a concurrent transaction: the caller's caller retries
                raise
            raise _Refused(failed) from None

    def _replayed_or_redelivered(self, payment: CheckedPayment, job_id: str, failed: list[int]) -> None:
        if self._delivered_before(payment, job_id):
            return  # the same job with the same tickets, delivered again: credited the first time
        nonces = [payment.tickets[i].ticket.sender_nonce for i in failed if i < len(payment.tickets)]
        raise refused("ticket_replayed", f"tickets with sender nonces {nonces} were received before")

    def _delivered_before(self, payment: CheckedPayment, job_id: str) -> bool:
        """Whether every ticket of ``payment`` was recorded for this same job and sender (a redelivery)."""
        for paid in payment.tickets:
            record = self.ticket(paid.key)
            if record is None or record.get("jobId") != job_id or record.get("sender") != payment.sender:
                return False
        return True

    def settle(self, sender: str, job_id: str, produced_pixels: int) -> int | None:
        """Charge a finished job for the pixels it produced instead of the bound charged ahead: the difference
        goes back to (or, rarely, comes from) the sender's balance, once. Return the difference credited
        back (wei), or None when there is nothing to settle (no such charge, or settled before)."""
        key = f"{sender}:{job_id}"
        charged = self.charges.get_item(Key={"id": key}, ConsistentRead=True).get("Item")
        if charged is None or "settledPixels" in charged:
            return None
        price = Price(price_per_unit=int(charged["pricePerUnit"]), pixels_per_unit=int(charged["pixelsPerUnit"]))  # type: ignore[arg-type]
        back = int(charged["fee"]) - price.fee(produced_pixels)  # type: ignore[arg-type]
        try:
            self._transact(
                [
                    {
                        "Update": {
                            "TableName": self.charges.name,
                            "Key": {"id": key},
                            "UpdateExpression": "SET settledPixels = :p, settledBack = :b",
                            "ConditionExpression": "attribute_exists(id) AND attribute_not_exists(settledPixels)",
                            "ExpressionAttributeValues": {":p": produced_pixels, ":b": back},
                        }
                    },
                    self._balance_update(sender, back, 0, -back, 0, None),
                ]
            )
        except _Refused:
            return None  # settled by an earlier delivery of the same report
        return back

    def mark_queued(self, sender: str, job_id: str, message_id: str) -> None:
        """Record the queue message of a charged job (a resend of the job is then not queued again)."""
        self.charges.update_item(
            Key={"id": f"{sender}:{job_id}"},
            UpdateExpression="SET messageId = :m",
            ExpressionAttributeValues={":m": message_id},
        )

    def pending_winnings(self, sender: str) -> int:
        """The face values of ``sender``'s winning tickets not yet redeemed (nor expired, nor failed), in wei."""
        item = self.balances.get_item(Key={"sender": sender}, ConsistentRead=True).get("Item")
        return int(item.get("pendingWinnings", 0)) if item else 0  # type: ignore[arg-type]

    def balance(self, sender: str) -> int:
        """The sender's balance in wei (credit minus charges)."""
        item = self.balances.get_item(Key={"sender": sender}, ConsistentRead=True).get("Item")
        return int(item.get("balance", 0)) if item else 0  # type: ignore[arg-type]

    def unsettled_winners(self, received_before_s: int) -> list[WinningTicket]:
        """Winning tickets still pending that were received before ``received_before_s`` (their queue message
        may have been lost: a crash between recording and queuing, or a message that went to the DLQ)."""
        found: list[WinningTicket] = []
        kwargs: dict[str, Any] = {
            "FilterExpression": "won = :t AND redemption = :p AND receivedAt < :b",
            "ExpressionAttributeValues": {":t": True, ":p": Redemption.PENDING.value, ":b": received_before_s},
        }
        while True:
            page = self.tickets.scan(**kwargs)
            found += [WinningTicket.parse(str(i["message"])) for i in page.get("Items", []) if "message" in i]
            if "LastEvaluatedKey" not in page:
                return found
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def ticket(self, key: str) -> dict[str, Any] | None:
        """A ticket record by ``recipientRandHash:senderNonce``."""
        return self.tickets.get_item(Key={"id": key}, ConsistentRead=True).get("Item")

    def set_redemption(self, key: str, state: Redemption, **fields: Any) -> bool:
        """Move a winning ticket to ``state`` with extra fields (tx hash, gas, reason); False if it was already
        redeemed (a redeemed ticket stays so). A ticket leaving ``pending`` leaves its sender's pending
        winnings in the same transaction, once."""
        names = {"#s": "redemption"}
        values: dict[str, Any] = {":s": state.value, ":done": Redemption.REDEEMED.value}
        sets = ["#s = :s"]
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
        update: dict[str, Any] = {
            "Key": {"id": key},
            "UpdateExpression": "SET " + ", ".join(sets),
            "ExpressionAttributeNames": names,
        }
        record = self.ticket(key)
        if record is not None and record.get("redemption") == Redemption.PENDING.value and state != Redemption.PENDING:
            leaving = {
                **update,
                "TableName": self.tickets.name,
                "ConditionExpression": "#s = :pending",
                "ExpressionAttributeValues": {**values, ":pending": Redemption.PENDING.value},
            }
            del leaving["ExpressionAttributeValues"][":done"]
            face = int(record.get("faceValue", 0))
            try:
                self._transact([{"Update": leaving}, self._winnings_update(str(record["sender"]), -face)])
                return True
            except _Refused:
                pass  # it left pending meanwhile (another delivery): the plain update below
        try:
            self.tickets.update_item(
                **update,
                ConditionExpression="attribute_exists(id) AND #s <> :done",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _winnings_update(self, sender: str, delta: int) -> Any:
        return {
            "Update": {
                "TableName": self.balances.name,
                "Key": {"sender": sender},
                "UpdateExpression": "ADD pendingWinnings :w",
                "ExpressionAttributeValues": {":w": delta},
            }
        }


def _with_winnings(balance: Any, payment: CheckedPayment) -> Any:
    """``balance`` (an Update of the sender's balance item) also adding the payment's winners to the sender's
    pending winnings, on condition that all of them together stay within ``payment.funds``."""
    won = sum(t.ticket.face_value for t in payment.winners)
    if not won:
        return balance
    update = dict(balance["Update"])
    values = {**update["ExpressionAttributeValues"], ":won": won, ":room": payment.funds - won}
    update["UpdateExpression"] += ", pendingWinnings :won"
    room = "(attribute_not_exists(pendingWinnings) AND :zero <= :room) OR pendingWinnings <= :room"
    update["ConditionExpression"] = (
        f"({update['ConditionExpression']}) AND ({room})" if "ConditionExpression" in update else room
    )
    values[":zero"] = 0
    update["ExpressionAttributeValues"] = values
    return {"Update": update}


def _spent(payment: CheckedPayment) -> Exception:
    return refused(
        "ticket_params_spent",
        f"a ticket from these parameters already won: ask {payment.tickets[0].ticket.recipient} for new ones",
    )


def _ticket_item(t: PaidTicket, payment: CheckedPayment, job_id: str, now_s: int) -> dict[str, Any]:
    ticket = t.ticket
    item: dict[str, Any] = {
        "id": t.key,
        "sender": payment.sender,
        "jobId": job_id,
        "faceValue": ticket.face_value,
        "creationRound": ticket.creation_round,
        "won": t.won,
        "receivedAt": now_s,
        "ttl": now_s + TICKET_TTL_S,
    }
    if t.won:
        item["redemption"] = Redemption.PENDING.value
        # What the redemption queue carries, kept so that a winner whose message was lost is sent again.
        item["message"] = WinningTicket.of(t.key, ticket, t.sig, payment.seed).body()
    return item
