"""The composition root: each capability's stores, bucket and queue, built from the stage's settings.

The handlers in ``app.py`` take everything from one ``Wiring``; tests build their own (or replace
its ``http`` session and ``rng``) to run the same handlers in-process.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import requests

from chalicelib.auth.store import ApiKeyStore
from chalicelib.core import aws
from chalicelib.core.cache import RefreshingCache
from chalicelib.core.clock import Clock, now_ms
from chalicelib.core.errors import Unavailable
from chalicelib.core.identity import address_of
from chalicelib.core.outbound import Resolver, policy_session, system_resolver
from chalicelib.core.resources import queue_name
from chalicelib.core.settings import OrchestratorEndpoint, Settings, settings
from chalicelib.core.static import StaticAssets
from chalicelib.core.urls import UrlPolicy
from chalicelib.dashboard.assets import PACKAGED as DASHBOARD_ASSETS
from chalicelib.dashboard.service import Dashboard
from chalicelib.dispatch.candidates import on_chain_candidates
from chalicelib.dispatch.health import HealthBook
from chalicelib.ingest.service import Gateway
from chalicelib.intake.queue import JobsQueue
from chalicelib.intake.service import IntakeRules, PaymentRules
from chalicelib.payments.chainview import CachedChainView, ChainView
from chalicelib.payments.ledger import Ledger
from chalicelib.payments.models import Price
from chalicelib.payments.recipient import RecipientTerms, recipient_secret
from chalicelib.payments.redemption import RedemptionQueue
from chalicelib.payments.sender import Payer, QuoteBook, SenderTerms
from chalicelib.playback.assets import PACKAGED, PlayerAssets
from chalicelib.playback.service import Playback
from chalicelib.projections.cursor import CursorStore
from chalicelib.projections.queue import ChainEventQueue
from chalicelib.projections.store import ProjectionStore
from chalicelib.projections.view import ProjectedChainView
from chalicelib.recordings.queue import PayloadQueue
from chalicelib.recordings.ready import RecordedSessions
from chalicelib.recordings.service import Recordings
from chalicelib.recordings.sessions import SessionTracker
from chalicelib.recordings.store import SessionStore
from chalicelib.recordings.vod import SessionEnds
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.store import SegmentStore
from chalicelib.segments.tally import OrchestratorTally
from chalicelib.streams.lifecycle import NO_EVENTS, NO_SESSIONS, StreamEvents, StreamSessions
from chalicelib.streams.store import StreamStore
from chalicelib.webhooks.delivery import Deliverer
from chalicelib.webhooks.deliverylog import DeliveryLog
from chalicelib.webhooks.emitter import WebhookEvents
from chalicelib.webhooks.queue import DeliveryQueue
from chalicelib.webhooks.sealing import KmsSealer
from chalicelib.webhooks.service import WebhookService
from chalicelib.webhooks.store import WebhookStore

#: What a process read of the chain's projections (rounds, funds, the active set) is served as is for
#: ``VIEW_FRESH_S`` seconds, then refreshed behind the requests, and read again on the request after
#: ``VIEW_STALE_S`` (``core.cache``).
VIEW_FRESH_S = 1.0
VIEW_STALE_S = 30.0

if TYPE_CHECKING:
    from chalicelib.chain.protocol import Protocol
    from chalicelib.chain.transactions import TxSender


class Wiring:
    """Builds what a handler needs. Stores are cheap wrappers over per-thread tables: one per call."""

    def __init__(self, settings_source: Callable[[], Settings] = settings) -> None:
        # Replaceable, so that tests can run the same handlers with other settings.
        self.settings_source = settings_source
        # One pooled session to the orchestrators' intakes, one random source for selection.
        self.http = requests.Session()
        self.rng = random.Random()
        # The gateway's quotes from orchestrators, kept for their round (one book per process).
        self.quotes = QuoteBook()
        self._protocol: Protocol | None = None
        self._tx_sender: TxSender | None = None
        self._lock = threading.Lock()
        # Kept per process, so that their short caches serve every request: the hot path reads little.
        self._cached_view: CachedChainView | None = None
        self._health: HealthBook | None = None
        self._listing: RefreshingCache[list[OrchestratorEndpoint]] = RefreshingCache(VIEW_FRESH_S, VIEW_STALE_S)
        # How webhook hosts resolve and what time it is: replaceable, so tests can change a name's answer
        # between a webhook's creation and its delivery, and step through the retry backoff.
        self.resolver: Resolver = system_resolver
        self.clock: Clock = now_ms
        # Sessions to webhook receivers, each bound to its policy and resolver (pooled per process).
        self._webhook_sessions: dict[tuple[UrlPolicy, Resolver], requests.Session] = {}

    @property
    def settings(self) -> Settings:
        """The stage's settings."""
        return self.settings_source()

    def streams(self) -> StreamStore:
        """The ``streams`` table."""
        return StreamStore(aws.table(self.settings.name("streams")))

    def segments(self) -> SegmentStore:
        """The ``segments`` table (the segment ledger)."""
        return SegmentStore(aws.table(self.settings.name("segments")))

    def tally(self) -> OrchestratorTally:
        """The ``tallies`` table: what each orchestrator did with this gateway's segments."""
        return OrchestratorTally(aws.table(self.settings.name("tallies")))

    def apikeys(self) -> ApiKeyStore:
        """The ``apikeys`` table."""
        return ApiKeyStore(aws.table(self.settings.name("apikeys")))

    def media(self) -> MediaBucket:
        """The ``media`` bucket."""
        return MediaBucket(aws.s3(), self.settings.name("media"))

    def jobs_queue(self) -> JobsQueue:
        """This orchestrator's ``jobs`` queue."""
        return JobsQueue(aws.sqs(), aws.queue_url(self.settings.name("jobs")))

    def queue_url(self, logical: str) -> str:
        """The URL of one of this stage's queues (FIFO queues' names end in .fifo)."""
        s = self.settings
        return aws.queue_url(queue_name(s.stage, logical, s.resource_prefix))

    def protocol(self) -> Protocol:
        """The protocol contracts over JSON-RPC (web3 is imported here, on first use, never at app import)."""
        with self._lock:
            if self._protocol is None:
                s = self.settings
                if not s.eth_rpc_url or not s.deployment_file:
                    raise Unavailable(
                        "chain_not_configured", "on-chain mode needs LP_ETH_RPC_URL and LP_DEPLOYMENT_FILE"
                    )
                from pathlib import Path

                from web3 import Web3

                from chalicelib.chain.protocol import Protocol

                w3 = Web3(Web3.HTTPProvider(s.eth_rpc_url, request_kwargs={"timeout": 10}))
                self._protocol = Protocol.from_file(w3, Path(s.deployment_file))
            return self._protocol

    def tx_sender(self) -> TxSender:
        """Sends this stage's transactions (one per process: the nonce comes from the node's pending count)."""
        protocol = self.protocol()
        with self._lock:
            if self._tx_sender is None:
                from eth_account import Account

                from chalicelib.chain.transactions import TxSender

                key = self.settings.eth_private_key
                if key is None:
                    raise Unavailable("no_key", "sending transactions needs this stage's key (LP_ETH_PRIVATE_KEY)")
                self._tx_sender = TxSender(protocol.w3, Account.from_key(key.get_secret_value()))
            return self._tx_sender

    def perform_round_duties(self) -> None:
        """Round automation for this stage's key (web3 loads here, in the schedule's function only)."""
        from chalicelib.chain.duties import perform_round_duties

        perform_round_duties(self.protocol(), self.tx_sender())

    def chain_view(self) -> ChainView:
        """What payment checks read of the chain: the projections, or (``LP_CHAIN_VIEW=rpc``) the node itself."""
        with self._lock:
            if self._cached_view is None:
                inner = self.projected_view() if self.settings.chain_view == "projections" else self.rpc_view()
                self._cached_view = CachedChainView(inner, fresh_s=VIEW_FRESH_S, stale_s=VIEW_STALE_S)
            return self._cached_view

    def rpc_view(self) -> ChainView:
        """The chain read over JSON-RPC: exact and current (the redeemer's view)."""
        from chalicelib.payments.rpcview import RpcChainView

        return RpcChainView(self.protocol())

    def ledger(self) -> Ledger:
        """The orchestrator's payment tables."""
        s = self.settings
        return Ledger(aws.table(s.name("tickets")), aws.table(s.name("balances")), aws.table(s.name("charges")))

    def redemptions(self) -> RedemptionQueue:
        """The orchestrator's FIFO queue of winning tickets."""
        return RedemptionQueue(aws.sqs(), self.queue_url("redemptions"))

    def recipient_terms(self) -> RecipientTerms:
        """What this orchestrator asks for its work, and the secret its recipientRand comes from."""
        s = self.settings
        address = self.address()
        if s.eth_private_key is None or address is None:
            raise Unavailable("no_key", "on-chain mode needs this stage's key (LP_ETH_PRIVATE_KEY)")
        key = bytes.fromhex(s.eth_private_key.get_secret_value().removeprefix("0x"))
        return RecipientTerms(
            address=address,
            secret=recipient_secret(key),
            price=Price(price_per_unit=s.price_per_unit, pixels_per_unit=s.pixels_per_unit),
            face_value=s.ticket_face_value_wei,
            ticket_ev=s.ticket_ev_wei,
        )

    def payment_rules(self) -> PaymentRules | None:
        """On-chain mode: how the intake checks and records payments; None in off-chain mode."""
        if self.settings.mode != "onchain":
            return None
        return PaymentRules(self.recipient_terms(), self.chain_view(), self.ledger(), self.redemptions())

    def sender_terms(self) -> SenderTerms | None:
        """On-chain mode: the gateway as a ticket sender; None in off-chain mode."""
        s = self.settings
        address = self.address()
        if s.mode != "onchain":
            return None
        if s.eth_private_key is None or address is None:
            raise Unavailable("no_key", "on-chain mode needs the gateway's key (LP_ETH_PRIVATE_KEY)")
        return SenderTerms(
            address, s.eth_private_key.get_secret_value(), s.max_price_wei_per_pixel, s.max_ticket_ev_wei
        )

    def projections(self) -> ProjectionStore:
        """The ``projections`` table: the chain's entities as the chain-event pipeline projected them."""
        return ProjectionStore(aws.table(self.settings.name("projections")))

    def chain_cursor(self) -> CursorStore:
        """The ``chaincursor`` table: where the chain poller stands, and its journal."""
        return CursorStore(aws.table(self.settings.name("chaincursor")))

    def chain_events(self) -> ChainEventQueue:
        """The ``chainevents`` FIFO queue."""
        return ChainEventQueue(aws.sqs(), aws.queue_url(self.settings.queue_name("chainevents")))

    def projected_view(self) -> ProjectedChainView:
        """The chain as the projections see it (no RPC): ``ChainView`` and the orchestrator list."""
        return ProjectedChainView(self.projections())

    def intake_rules(self) -> IntakeRules:
        """What this orchestrator's intake takes, as of now."""
        s = self.settings
        return IntakeRules(
            my_address=self.address(),
            allowed_gateways=s.allowed_gateways,
            url_policy=UrlPolicy.allowing(s.allowed_job_origins),
            max_job_age_ms=int(s.max_job_age_s * 1000),
            now_ms=now_ms(),
            payments=self.payment_rules(),
        )

    def address(self) -> str | None:
        """This stage's Ethereum address (None without a key)."""
        return address_of(self.settings.eth_private_key)

    def gateway(self) -> Gateway:
        """What ingest needs."""
        return Gateway(
            self.settings,
            self.streams(),
            self.segments(),
            self.media(),
            self.http,
            self.rng,
            candidates=self.candidates(),
            payer=self.payer(),
            health=self.health(),
            events=self.stream_events(),
            sessions=self.session_tracker(),
            tally=self.tally(),
        )

    def health(self) -> HealthBook:
        """The orchestrators' strikes, as this gateway sees them (one book per process: its reads are cached)."""
        with self._lock:
            if self._health is None:
                self._health = HealthBook(aws.table(self.settings.name("health")))
            return self._health

    def candidates(self) -> list[OrchestratorEndpoint]:
        """Where segments may go: the configured orchestrators (off-chain mode), or the chain's active set
        with a service URI at a price this gateway pays (on-chain mode, from the projections)."""
        s = self.settings
        if s.mode != "onchain":
            return list(s.orchestrators)
        view = self.projected_view()
        listed = self._listing.get(
            "candidates", lambda: on_chain_candidates(view.active_orchestrators(), s.max_price_wei_per_pixel)
        )
        return list(listed)

    def payer(self) -> Payer | None:
        """On-chain mode: what pays each job the gateway sends; None in off-chain mode."""
        terms = self.sender_terms()
        if terms is None:
            return None
        s = self.settings
        return Payer(terms, self.chain_view(), self.quotes, self.http, s.intake_timeout_s)

    def playback(self) -> Playback:
        """What playback needs."""
        return Playback(self.settings, self.streams(), self.segments(), self.media())

    def player_assets(self) -> PlayerAssets:
        """The player page's static files in the bundle (hls.js among them), read once per process."""
        return PACKAGED

    # --- The dashboard (gateway) ----------------------------------------------------------------------

    def dashboard(self) -> Dashboard:
        """What the dashboard reads: streams, the ledger, the tallies, the health book, and the projections."""
        onchain = self.settings.mode == "onchain"
        return Dashboard(
            self.settings,
            self.streams(),
            self.segments(),
            self.tally(),
            self.health(),
            chain=self.projected_view() if onchain else None,
            sender=self.address() if onchain else None,
        )

    def dashboard_assets(self) -> StaticAssets:
        """The dashboard page's script and style in the bundle, read once per process."""
        return DASHBOARD_ASSETS

    # --- Webhooks (gateway) -------------------------------------------------------------------------

    def webhooks(self) -> WebhookStore:
        """The ``webhooks`` table."""
        return WebhookStore(aws.table(self.settings.name("webhooks")))

    def webhook_log(self) -> DeliveryLog:
        """The ``webhooklog`` table: attempts' claims and the delivery log."""
        return DeliveryLog(aws.table(self.settings.name("webhooklog")))

    def webhook_queue(self) -> DeliveryQueue:
        """The ``webhooks`` queue: one message per delivery attempt."""
        return DeliveryQueue(aws.sqs(), self.queue_url("webhooks"))

    def webhook_sealer(self) -> KmsSealer:
        """Seals webhook secrets with the stage's ``webhooks`` KMS key."""
        return KmsSealer(aws.kms(), self.settings.key_alias("webhooks"))

    def webhook_policy(self) -> UrlPolicy:
        """Where webhooks may post: public addresses, plus what this stage allows explicitly."""
        s = self.settings
        return UrlPolicy.allowing(s.webhook_allowed_origins, allow_loopback=s.webhook_allow_loopback)

    def webhook_service(self) -> WebhookService:
        """The webhook API."""
        return WebhookService(
            self.webhooks(),
            self.webhook_log(),
            self.webhook_sealer(),
            self.streams(),
            self.webhook_policy(),
            self.resolver,
            self.clock,
        )

    def stream_events(self) -> StreamEvents:
        """Where streams' lifecycle events go: the webhooks on a gateway, nowhere elsewhere."""
        if not self.settings.has_role("gateway"):
            return NO_EVENTS
        return WebhookEvents(self.webhooks(), self.webhook_queue)

    def webhook_deliverer(self) -> Deliverer:
        """What the delivery handler needs; its HTTP session checks every connection against the policy."""
        policy = self.webhook_policy()
        with self._lock:
            key = (policy, self.resolver)
            if key not in self._webhook_sessions:
                self._webhook_sessions[key] = policy_session(policy, self.resolver)
            session = self._webhook_sessions[key]
        return Deliverer(
            self.webhooks(),
            self.webhook_log(),
            self.webhook_sealer(),
            self.webhook_queue(),
            session,
            policy,
            self.settings.webhook_timeout_s,
            self.clock,
        )

    # --- Sessions and recordings (gateway) -----------------------------------------------------------

    def sessions(self) -> SessionStore:
        """The ``sessions`` table."""
        return SessionStore(aws.table(self.settings.name("sessions")))

    def session_tracker(self) -> StreamSessions:
        """Where streams' sessions open and end: the ``sessions`` table on a gateway, nowhere elsewhere."""
        if not self.settings.has_role("gateway"):
            return NO_SESSIONS
        return SessionTracker(
            self.sessions(), self.streams(), lambda: PayloadQueue(aws.sqs(), self.queue_url("sessionends"))
        )

    def session_ends(self) -> SessionEnds:
        """What the ``sessionends`` handler needs: settling ended sessions, writing recordings, queueing MP4s."""
        return SessionEnds(
            self.settings,
            self.sessions(),
            self.streams(),
            self.segments(),
            self.media(),
            lambda: PayloadQueue(aws.sqs(), self.queue_url("recordings")),
        )

    def recorded_sessions(self) -> RecordedSessions:
        """What the ``recorded`` handler needs: the recorder's manifests move recordings and emit recording.ready."""
        return RecordedSessions(
            self.sessions(), self.streams(), self.media(), self.stream_events(), self.settings.public_url
        )

    def recordings(self) -> Recordings:
        """The recordings' API: sessions, recorded sessions' playback info and files."""
        return Recordings(
            self.settings, self.sessions(), self.streams(), self.segments(), self.media(), self.playback()
        )
