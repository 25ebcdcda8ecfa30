"""Runtime settings of one stage (one deployment, one role set, one Ethereum key), read from ``LP_*``."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from chalicelib.core.resources import Role, key_alias, physical_name, queue_name

MiB = 1024 * 1024


class OrchestratorEndpoint(BaseModel):
    """An orchestrator known to the gateway in off-chain mode: where its intake is and its weight."""

    address: str
    url: str
    stake: int = Field(default=1, ge=0)


class Settings(BaseSettings):
    """A stage's settings. Environment variables are ``LP_`` + the field name in upper case."""

    model_config = SettingsConfigDict(env_prefix="LP_", extra="ignore")

    stage: str = "dev"
    roles: tuple[Role, ...] = ("gateway",)
    resource_prefix: str | None = None
    region: str = "us-east-1"
    # The base URL viewers and apps reach this stage at; playback links are built from it. Unset, they are
    # built from the request's Host and X-Forwarded-Proto (set it behind API Gateway's execute-api URL,
    # whose path begins with the stage name, and behind a CDN).
    public_url: str | None = None
    # Off-chain mode: the orchestrators to send work to.
    orchestrators: list[OrchestratorEndpoint] = []
    # This stage's Ethereum key (orchestrators sign results with it; later, gateways sign tickets).
    eth_private_key: SecretStr | None = None
    # A Lambda invocation takes at most 6 MB; base64 grows a body by 4/3, so 4 MiB of segment fits.
    max_segment_bytes: int = 4 * MiB
    # Live playlists list this many segments (sliding window).
    playlist_window: int = 6
    # A received segment not transcoded within this many seconds becomes a gap in the playlists.
    pending_timeout_s: float = 20.0
    # A missing sequence number is declared a gap once a later segment has waited this long.
    missing_timeout_s: float = 6.0
    # Sequence numbers further than this ahead of the newest segment are refused as out of order.
    max_sequence_jump: int = 10_000
    # How segments reach viewers: proxied through the API, or a redirect to a presigned S3 URL.
    segment_delivery: Literal["proxy", "redirect"] = "proxy"
    presign_ttl_s: int = 3600
    intake_timeout_s: float = 5.0
    # Orchestrator, off-chain mode: the gateways (Ethereum addresses) whose signed jobs it takes.
    allowed_gateways: list[str] = []
    # Orchestrator: origins (scheme://host:port) a job's URLs may name although they are not public
    # addresses; by default none. The local stack allows its own AWS endpoint this way.
    allowed_job_origins: list[str] = []
    # Orchestrator: a job made longer ago than this is refused (bounds the replay of a captured job).
    max_job_age_s: float = 300.0
    # A stream with no segment for this long is marked inactive by the idle sweeper; by default, three of
    # its own segment durations.
    stream_idle_after_s: float | None = None
    # Gateway, webhooks: a receiver gets this long to answer a delivery (Studio: 30 s); the delivery function's
    # own timeout (60 s, .chalice/config.json) must leave room for it.
    webhook_timeout_s: float = Field(default=30.0, gt=0, le=45)
    # Gateway, webhooks: origins (scheme://host:port) a webhook URL may name although they are not public
    # addresses, and whether loopback receivers (127.0.0.0/8, ::1, localhost) are allowed; by default none
    # and no. The local stack allows loopback, so that a webhook reaches an app on the developer's machine.
    webhook_allowed_origins: list[str] = []
    webhook_allow_loopback: bool = False

    # --- On-chain mode ------------------------------------------------------------------------------
    # "offchain": orchestrators from ``orchestrators``, jobs signed by an allowed gateway, nobody paid.
    # "onchain": orchestrators from the chain's projections, every job paid with tickets (DESIGN.md).
    mode: Literal["offchain", "onchain"] = "offchain"
    # Where payment checks read the chain: the projections in DynamoDB, or the node itself (tools, tests).
    chain_view: Literal["projections", "rpc"] = "projections"
    # The chain's JSON-RPC endpoint and the deployment file (addresses and ABIs) of the protocol.
    eth_rpc_url: str | None = None
    deployment_file: str | None = None
    # The chain-event poller projects only blocks this deep (a reorg shallower than this is never seen), and
    # reads at most this many blocks of logs per request.
    chain_confirmations: int = Field(default=6, ge=0)
    chain_max_blocks_per_poll: int = Field(default=2000, gt=0)
    # Orchestrator: the price it asks (``price_per_unit`` wei per ``pixels_per_unit`` output pixels), and its
    # tickets: face value (Livepeer: about 100 times a redemption's gas cost) and expected value each.
    price_per_unit: int = Field(default=1, ge=0)
    pixels_per_unit: int = Field(default=1, gt=0)
    ticket_face_value_wei: int = Field(default=10**16, gt=0)
    ticket_ev_wei: int = Field(default=10**12, gt=0)
    # Gateway: the most it pays per output pixel (wei); orchestrators asking more are not chosen.
    max_price_wei_per_pixel: Decimal = Decimal(10)
    # Gateway: the most one ticket may be worth (expected value, wei). A quote whose tickets are worth more
    # is refused: an orchestrator could otherwise quote one certain winner worth the whole deposit.
    max_ticket_ev_wei: int = Field(default=10**13, gt=0)
    # Gateway: selection weights (DESIGN.md: 0.7 stake share + 0.3 uniform) and how many orchestrators
    # a segment is offered to before it is refused with 503.
    selection_stake_weight: float = Field(default=0.7, ge=0, le=1)
    max_dispatch_attempts: int = Field(default=3, ge=1, le=10)

    def name(self, logical: str) -> str:
        """Return the physical name of one of this stage's resources."""
        return physical_name(self.stage, logical, self.resource_prefix)

    def queue_name(self, logical: str) -> str:
        """Return the physical name of one of this stage's queues (``.fifo`` for a FIFO queue)."""
        return queue_name(self.stage, logical, self.resource_prefix)

    def key_alias(self, logical: str) -> str:
        """Return the alias of one of this stage's KMS keys (``alias/lp-dev-webhooks``)."""
        return key_alias(self.stage, logical, self.resource_prefix)

    def has_role(self, role: Role) -> bool:
        """Tell whether this stage plays ``role``."""
        return role in self.roles


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Return the process's settings, read once from the environment."""
    return Settings()
