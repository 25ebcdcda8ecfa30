"""The orchestrator's payment ledger in DynamoDB: each sender's balance and quotes, winning tickets, settlements.

Taking a paid job is one conditional write of the sender's item in the usual case (no ticket won), so paying
adds little to a segment's way; a payment with a winner is one transaction. At-least-once delivery and
concurrent intakes stay exact because every write is conditional:

- ``balances`` (``sender``): wei credited by tickets minus fees charged, counters (tickets ``received`` and
  ``won``, ``charged`` wei, ``jobs``, ``payments``), ``pendingWinnings`` (the
  face values of the sender's winning tickets not yet redeemed: a new winner is taken only while all of them
  together stay within the sender's deposit and reserve allocation, since the broker pays them one after
  another from the same money), and one attribute per quote (``q:<recipientRandHash>``): the highest sender
  nonce received from it, the job that nonce paid for, its round, and whether a ticket of it won. A gateway
  sends a quote's nonces in increasing order (one quote per gateway thread; ``sender.QuoteBook``), so a
  ticket at or under the mark is a replay, the same payment again is recognised by its job, and a quote
  that won takes no more tickets (its recipientRand is about to be revealed on chain). As in Livepeer, a
  losing ticket leaves no record of its own.
- ``tickets`` (``id`` = recipientRandHash:senderNonce): winning tickets, with what the redeemer needs and their
  redemption state.
- ``charges`` (``id`` = sender:jobId): each job's settlement, once: the fee charged ahead (carried with the job,
  ``jobs.models.JobCharge``) against the pixels the worker made.

A job sent again with fresh tickets from the same quote (a gateway's retry) is credited, not charged or queued
again. Quote attributes older than the ticket validity period are removed once a sender holds ``QUOTES_KEPT``
(looked at every ``QUOTES_KEPT`` payments, by the ``payments`` counter).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from chalicelib.jobs.models import JobCharge
from chalicelib.payments.errors import refused
from chalicelib.payments.recipient import CheckedPayment, PaidTicket
from chalicelib.payments.winners import WinningTicket

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.service_resource import Table

#: Ticket records outlive their redemption window by a day, then DynamoDB's TTL removes them.
TICKET_TTL_S = 86_400 * 3
#: Past this many quote attributes on a sender's item, the expired ones are removed (the item stays small).
QUOTES_KEPT = 64
QUOTE_PREFIX = "q:"


class Redemption(StrEnum):
    """Where a winning ticket is on its way to the chain."""

    PENDING = "pending"  # won; queued for the redeemer
    REDEEMED = "redeemed"  # paid on chain (by us, or found already used)
    EXPIRED = "expired"  # its validity window closed before it could be paid
    FAILED = "failed"  # the broker refuses it for good (e.g. the sender unlocked)


@dataclass(frozen=True)
class Charge:
    """The result of paying for a job: charged by this call (which then queues it), or by an earlier delivery
    of the same job (nothing more to do)."""

    outcome: Literal["charged", "already_charged"]
    fee: int


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

    def pay(self, payment: CheckedPayment, job_id: str, fee: int, now_s: int) -> Charge:
        """Take the payment's tickets, credit their worth and charge the job's ``fee``, in one write.

        Refusals (402, nothing credited unless said): ``ticket_replayed`` (a nonce at or under its quote's
        mark), ``ticket_params_spent`` (a ticket of the quote already won), ``sender_underfunded`` (its winners
        with the sender's unredeemed ones would not all be paid), ``insufficient_balance`` (the credit is
        short: the tickets are credited all the same and count toward the next job). The same payment again,
        or the same job paid again from the same quote, is ``already_charged`` (the latter credited).
        """
        try:
            self._write(payment, job_id, fee, now_s, charge=True)
            return Charge("charged", fee)
        except _Refused:
            pass
        why = self._why_refused(payment, job_id)
        if why == "redelivered":
            return Charge("already_charged", fee)
        if why == "repaid":  # the same job, fresh tickets: a gateway's retry; credit them, charge nothing
            self._credit_only(payment, job_id, now_s, charged=True)
            return Charge("already_charged", fee)
        if why != "short":
            raise _refusal(why, payment, self.pending_winnings(payment.sender))
        self._credit_only(payment, job_id, now_s, charged=False)
        raise refused(
            "insufficient_balance",
            f"the job costs {fee} wei; {payment.sender}'s tickets so far leave {self.balance(payment.sender)} wei: "
            "send more",
        )

    def _credit_only(self, payment: CheckedPayment, job_id: str, now_s: int, *, charged: bool) -> None:
        """Credit the payment's tickets without charging; ``charged``: whether its job was charged before."""
        try:
            self._write(payment, job_id, 0, now_s, charge=False, charged=charged)
        except _Refused:
            why = self._why_refused(payment, job_id)
            if why not in ("redelivered", "short"):
                raise _refusal(why, payment, self.pending_winnings(payment.sender)) from None

    def _write(
        self, payment: CheckedPayment, job_id: str, fee: int, now_s: int, *, charge: bool, charged: bool = True
    ) -> None:
        """One write: the sender's item (mark, credit, charge, pending winnings) and, with winners, their records
        in the same transaction; ``_Refused`` if a condition fails. The mark remembers whether the job was charged
        (``charge``, or ``charged`` before), so that the same payment again is known as taken only if it was."""
        update = self._sender_update(payment, job_id, fee, charge, charge or charged)
        if not payment.winners:
            try:
                # Only the counters come back: the whole item (every quote's mark) would cost the write its
                # size again on the way back, each time.
                answer = self._client.update_item(**update, ReturnValues="UPDATED_NEW")
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                    raise _Refused([0]) from None
                raise
            counted: Any = answer.get("Attributes", {}).get("payments", 1)
            if int(counted) % QUOTES_KEPT == 0:
                self._forget_old_quotes(payment.sender, payment)
            return
        puts = [
            {
                "Put": {
                    "TableName": self.tickets.name,
                    "Item": _winner_item(t, payment, job_id, now_s),
                    "ConditionExpression": "attribute_not_exists(id)",
                }
            }
            for t in payment.winners
        ]
        self._transact([{"Update": update}, *puts])
        self._forget_old_quotes(payment.sender, payment)  # a winner retires its quote: the next one adds a mark

    def _sender_update(
        self, payment: CheckedPayment, job_id: str, fee: int, charge: bool, job_charged: bool
    ) -> dict[str, Any]:
        nonces = [t.ticket.sender_nonce for t in payment.tickets]
        created = payment.tickets[0].ticket.creation_round
        won = sum(t.ticket.face_value for t in payment.winners)
        mark: dict[str, Any] = {"n": max(nonces), "j": job_id, "r": created}
        if won:
            mark["s"] = True
        if job_charged:
            mark["c"] = True
        names = {"#q": QUOTE_PREFIX + "0x" + payment.recipient_rand_hash.hex(), "#n": "n", "#s": "s"}
        values: dict[str, Any] = {
            ":mark": mark,
            ":first": min(nonces),
            ":delta": payment.credit - fee,
            ":received": len(payment.tickets),
            ":fee": fee,
            ":jobs": 1 if charge else 0,
            ":one": 1,
        }
        adds = "balance :delta, received :received, charged :fee, jobs :jobs, payments :one"
        # A quote's first tickets, or ones above its mark (for another job, when charging), while none of it won.
        other_job = " AND #q.#j <> :job" if charge else ""
        fresh = f"(attribute_not_exists(#q) OR (#q.#n < :first{other_job} AND attribute_not_exists(#q.#s)))"
        conditions = [fresh]
        if charge or won:
            values[":zero"] = 0
        if charge:
            names["#j"] = "j"
            values[":job"] = job_id
            values[":need"] = fee - payment.credit  # what the balance must already hold
            conditions.append("((attribute_not_exists(balance) AND :zero >= :need) OR balance >= :need)")
        if won:
            adds += ", pendingWinnings :won, won :winners"
            values.update({":won": won, ":winners": len(payment.winners), ":room": payment.funds - won})
            conditions.append(
                "((attribute_not_exists(pendingWinnings) AND :zero <= :room) OR pendingWinnings <= :room)"
            )
        return {
            "TableName": self.balances.name,
            "Key": {"sender": payment.sender},
            "UpdateExpression": f"SET #q = :mark ADD {adds}",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def _why_refused(
        self, payment: CheckedPayment, job_id: str
    ) -> Literal["redelivered", "repaid", "replayed", "spent", "underfunded", "short"]:
        """Why the sender's item refused ``payment`` (read after the refusal)."""
        item = self.balances.get_item(Key={"sender": payment.sender}, ConsistentRead=True).get("Item", {})
        mark = item.get(QUOTE_PREFIX + "0x" + payment.recipient_rand_hash.hex())
        nonces = [t.ticket.sender_nonce for t in payment.tickets]
        if isinstance(mark, dict):
            if mark.get("j") == job_id and int(mark.get("n", -1)) == max(nonces):
                # the same payment again: taken if its job was charged; else refused for its balance before
                return "redelivered" if mark.get("c") else "short"
            if int(mark.get("n", -1)) >= min(nonces):
                return "replayed"
            if mark.get("s"):
                return "spent"
            if mark.get("j") == job_id:
                return "repaid"
        won = sum(t.ticket.face_value for t in payment.winners)
        if won and int(item.get("pendingWinnings", 0)) + won > payment.funds:  # type: ignore[arg-type]
            return "underfunded"
        return "short"

    def _forget_old_quotes(self, sender: str, payment: CheckedPayment) -> None:
        """Remove the quote attributes of rounds no ticket can be redeemed in any more, once there are many: looked
        at every ``QUOTES_KEPT`` payments and after each winner (which retires its quote, so that the next payment
        brings a new one), up to ``QUOTES_KEPT`` at a time, so old marks go at least as fast as new ones come.
        Marks of quotes still redeemable stay: a sender's item holds those of its last rounds."""
        item: dict[str, Any] = self.balances.get_item(Key={"sender": sender}, ConsistentRead=True).get("Item", {})
        quotes = {name: mark for name, mark in item.items() if name.startswith(QUOTE_PREFIX)}
        if len(quotes) <= QUOTES_KEPT:
            return
        newest = payment.tickets[0].ticket.creation_round
        old = [name for name, mark in quotes.items() if int(mark.get("r", 0)) < newest - 2]
        if not old:
            return
        names = {f"#o{i}": name for i, name in enumerate(old[:QUOTES_KEPT])}
        self._client.update_item(
            TableName=self.balances.name,
            Key={"sender": sender},
            UpdateExpression="REMOVE " + ", ".join(names),
            ExpressionAttributeNames=names,
        )

    def refund(self, payment: CheckedPayment, job_id: str, fee: int) -> None:
        """Take back the charge of a job that could not be queued, once; its quote's mark no longer names the
        job, so the same payment sent again is a replay (the gateway pays afresh) and is not taken as done."""
        try:
            self._client.update_item(
                TableName=self.balances.name,
                Key={"sender": payment.sender},
                UpdateExpression="SET #q.#j = :none ADD balance :fee, charged :less, jobs :one_less",
                ConditionExpression="#q.#j = :job",
                ExpressionAttributeNames={"#q": QUOTE_PREFIX + "0x" + payment.recipient_rand_hash.hex(), "#j": "j"},
                ExpressionAttributeValues={":none": "", ":job": job_id, ":fee": fee, ":less": -fee, ":one_less": -1},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def settle(self, sender: str, job_id: str, produced_pixels: int, charge: JobCharge) -> int | None:
        """Charge a finished job for the pixels it produced instead of the bound charged ahead: the difference
        goes back to (or, rarely, comes from) the sender's balance, once. Return the difference credited
        back (wei), or None when the job was settled before."""
        fee = -(-produced_pixels * charge.price_per_unit // charge.pixels_per_unit)
        back = charge.fee - fee
        record = {
            "id": f"{sender}:{job_id}",
            "sender": sender,
            "jobId": job_id,
            "fee": charge.fee,
            "pixels": charge.pixels,
            "settledPixels": produced_pixels,
            "settledBack": back,
        }
        balance = {
            "TableName": self.balances.name,
            "Key": {"sender": sender},
            "UpdateExpression": "ADD balance :back, charged :less",
            "ExpressionAttributeValues": {":back": back, ":less": -back},
        }
        put = {"TableName": self.charges.name, "Item": record, "ConditionExpression": "attribute_not_exists(id)"}
        try:
            self._transact([{"Put": put}, {"Update": balance}])
        except _Refused:
            return None  # settled by an earlier delivery of the same report
        return back

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

    def pending_winnings(self, sender: str) -> int:
        """The face values of ``sender``'s winning tickets not yet redeemed (nor expired, nor failed), in wei."""
        item = self.balances.get_item(Key={"sender": sender}, ConsistentRead=True).get("Item")
        return int(item.get("pendingWinnings", 0)) if item else 0  # type: ignore[arg-type]

    def balance(self, sender: str) -> int:
        """The sender's balance in wei (credit minus charges)."""
        item = self.balances.get_item(Key={"sender": sender}, ConsistentRead=True).get("Item")
        return int(item.get("balance", 0)) if item else 0  # type: ignore[arg-type]

    def ticket_counts(self) -> dict[str, tuple[int, int]]:
        """Tickets received and won per sender, by this orchestrator's own count (a scan: one item per sender)."""
        counts: dict[str, tuple[int, int]] = {}
        kwargs: dict[str, Any] = {
            "ProjectionExpression": "#s, #r, #w",
            "ExpressionAttributeNames": {"#s": "sender", "#r": "received", "#w": "won"},
        }
        while True:
            page = self.balances.scan(**kwargs)
            for item in page.get("Items", []):
                counts[str(item["sender"])] = (int(item.get("received", 0)), int(item.get("won", 0)))  # type: ignore[arg-type]
            if "LastEvaluatedKey" not in page:
                return counts
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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


def _refusal(why: str, payment: CheckedPayment, pending: int) -> Exception:
    if why == "replayed":
        nonces = [t.ticket.sender_nonce for t in payment.tickets]
        return refused("ticket_replayed", f"tickets with sender nonces {nonces[0]}..{nonces[-1]} were received before")
    if why == "spent":
        return refused(
            "ticket_params_spent",
            f"a ticket from these parameters already won: ask {payment.tickets[0].ticket.recipient} for new ones",
        )
    return refused(
        "sender_underfunded",
        f"{payment.sender}'s unredeemed winning tickets ({pending} wei) and this payment's leave its deposit and "
        f"reserve allocation ({payment.funds} wei) short",
    )


def _winner_item(t: PaidTicket, payment: CheckedPayment, job_id: str, now_s: int) -> dict[str, Any]:
    ticket = t.ticket
    return {
        "id": t.key,
        "sender": payment.sender,
        "jobId": job_id,
        "faceValue": ticket.face_value,
        "creationRound": ticket.creation_round,
        "won": True,
        "receivedAt": now_s,
        "ttl": now_s + TICKET_TTL_S,
        "redemption": Redemption.PENDING.value,
        # What the redemption queue carries, kept so that a winner whose message was lost is sent again.
        "message": WinningTicket.of(t.key, ticket, t.sig, payment.seed).body(),
    }
