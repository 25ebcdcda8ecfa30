"""The composition root: each capability's stores, bucket and queue, built from the stage's settings.

The handlers in ``app.py`` take everything from one ``Wiring``; tests build their own (or replace
its ``http`` session and ``rng``) to run the same handlers in-process.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import requests

from chalicelib.auth.store import ApiKeyStore
from chalicelib.core import aws
from chalicelib.core.clock import now_ms
from chalicelib.core.identity import address_of
from chalicelib.core.settings import Settings, settings
from chalicelib.ingest.service import Gateway
from chalicelib.intake.queue import JobsQueue
from chalicelib.intake.service import IntakeRules
from chalicelib.jobs.urls import UrlPolicy
from chalicelib.playback.service import Playback
from chalicelib.segments.media import MediaBucket
from chalicelib.segments.store import SegmentStore
from chalicelib.streams.store import StreamStore


class Wiring:
    """Builds what a handler needs. Stores are cheap wrappers over per-thread tables: one per call."""

    def __init__(self, settings_source: Callable[[], Settings] = settings) -> None:
        # Replaceable, so that tests can run the same handlers with other settings.
        self.settings_source = settings_source
        # One pooled session to the orchestrators' intakes, one random source for selection.
        self.http = requests.Session()
        self.rng = random.Random()

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

    def apikeys(self) -> ApiKeyStore:
        """The ``apikeys`` table."""
        return ApiKeyStore(aws.table(self.settings.name("apikeys")))

    def media(self) -> MediaBucket:
        """The ``media`` bucket."""
        return MediaBucket(aws.s3(), self.settings.name("media"))

    def jobs_queue(self) -> JobsQueue:
        """This orchestrator's ``jobs`` queue."""
        return JobsQueue(aws.sqs(), aws.queue_url(self.settings.name("jobs")))

    def intake_rules(self) -> IntakeRules:
        """What this orchestrator's intake takes, as of now."""
        s = self.settings
        return IntakeRules(
            my_address=self.address(),
            allowed_gateways=s.allowed_gateways,
            url_policy=UrlPolicy.allowing(s.allowed_job_origins),
            max_job_age_ms=int(s.max_job_age_s * 1000),
            now_ms=now_ms(),
        )

    def address(self) -> str | None:
        """This stage's Ethereum address (None without a key)."""
        return address_of(self.settings.eth_private_key)

    def gateway(self) -> Gateway:
        """What ingest needs."""
        return Gateway(self.settings, self.streams(), self.segments(), self.media(), self.http, self.rng)

    def playback(self) -> Playback:
        """What playback needs."""
        return Playback(self.settings, self.streams(), self.segments(), self.media())
