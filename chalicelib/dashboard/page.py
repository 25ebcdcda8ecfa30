"""The dashboard page (``/dashboard``): markup only, the same for everyone, and its Content-Security-Policy.

The page holds no data: its script asks for the API key, keeps it in the tab's ``sessionStorage`` (never in the
URL or a cookie), and reads ``dashboard/data`` with ``Authorization: Bearer``. Script and style come from this
app; the policy runs nothing else (no inline script or style, no CDN) and lets the page connect to its own
origin only. Links are relative, so the page works at any path prefix (an API Gateway stage).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.static import StaticAssets

#: How often the page reads the data again.
REFRESH_MS = 5000


@dataclass(frozen=True)
class DashboardPage:
    """The page's HTML and the Content-Security-Policy it must be served with."""

    html: str
    policy: str


def content_security_policy() -> str:
    """Scripts, styles and connections to this origin only; no forms posted anywhere, no framing."""
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def render_dashboard(assets: StaticAssets) -> DashboardPage:
    """Return the dashboard page (static: what it shows comes from ``dashboard/data``, read by its script)."""
    versions = assets.versions()
    script = f"dashboard/assets/dashboard.js?v={versions['dashboard.js']}"
    stylesheet = f"dashboard/assets/dashboard.css?v={versions['dashboard.css']}"
    html = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Dashboard · lp-network</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{stylesheet}">
<script src="{script}" defer></script>
</head>
<body>
<main id="dashboard" data-state="locked" data-source="dashboard/data" data-refresh-ms="{REFRESH_MS}">
  <header>
    <h1>Network dashboard</h1>
    <p id="status" class="status" role="status" aria-live="polite"></p>
    <button id="forget" type="button" hidden>Forget the key</button>
  </header>
  <form id="key-form" class="key-form" autocomplete="off">
    <label for="api-key">API key</label>
    <input id="api-key" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Show</button>
    <p class="hint">The key stays in this browser tab (sessionStorage) and is sent only to this server, as
      <code>Authorization: Bearer</code>: never in a URL or a cookie.</p>
  </form>
  <div id="content" hidden>
    <section>
      <h2>Your streams <span id="streams-count" class="count"></span></h2>
      <table id="streams">
        <thead><tr>
          <th>Stream</th><th>State</th><th>Health</th><th>Last seen</th><th class="num">Segments in</th>
          <th class="num">Transcoded</th><th class="num">Failed (newest)</th><th class="num">Transcode ms</th>
          <th>Orchestrator</th>
        </tr></thead>
        <tbody></tbody>
      </table>
      <p id="streams-empty" class="empty" hidden>No streams yet: create one with <code>POST /stream</code>.</p>
    </section>
    <section>
      <h2>The last hour</h2>
      <svg id="plot" class="plot" viewBox="0 0 720 220" role="img"
           aria-label="Segments transcoded and failed, and tickets sent, per minute over the last hour"></svg>
      <p class="legend"><span class="key ok">segments transcoded</span> <span class="key failed">failed</span>
        <span id="legend-tickets" class="key tickets" hidden>tickets sent</span> per minute, every orchestrator
        together</p>
    </section>
    <section>
      <h2>Orchestrators</h2>
      <table id="orchestrators">
        <thead><tr>
          <th>Orchestrator</th><th>Status</th><th class="num">Stake (LPT)</th><th class="num">Price (wei/pixel)</th>
          <th class="num">Segments served</th><th class="num">Failed</th><th class="num">Success rate</th>
          <th class="num">Mean transcode</th><th>Last segment</th>
        </tr></thead>
        <tbody></tbody>
      </table>
    </section>
    <section id="payments-section" hidden>
      <h2>Payments</h2>
      <p id="funds" class="funds"></p>
      <table id="payments">
        <thead><tr>
          <th>Orchestrator</th><th class="num">Tickets sent</th><th class="num">Received</th><th class="num">Won</th>
          <th class="num">Redeemed</th><th class="num">Credited</th>
        </tr></thead>
        <tbody></tbody>
      </table>
      <p class="hint">Received, won and redeemed are counted by each orchestrator in its own tables, which a gateway
        cannot read: whether a ticket wins depends on the orchestrator's secret (its recipientRand), which the
        gateway learns only when the ticket is redeemed on chain. ETH credited is the TicketBroker's record
        (recipientCredit) for winning tickets from every sender, not only this gateway.</p>
    </section>
    <ul id="notes" class="notes"></ul>
    <section class="sources">
      <h2>Where the numbers come from</h2>
      <ul>
        <li><strong>Streams</strong>: your streams only, from the streams table: Studio's counters
          (segments in when received, transcoded when a result settles). Health and failures read the newest
          segments of a live stream in the segment ledger; a segment still waiting after the playlists stop
          waiting for it counts as stalled.</li>
        <li><strong>Orchestrators</strong>: stake, price and the active set from the chain's projections
          (on-chain mode), or the configured list; strikes from this gateway's health book; segments served,
          failures and transcode times from this gateway's own tally of the segments it sent (counted when a
          result settles: transcoded, or failed on its last attempt; the time is the worker's measure).</li>
        <li><strong>Payments</strong> (on-chain mode): tickets sent, from this gateway's tally; ETH credited, from
          the projections of the TicketBroker.</li>
        <li><strong>The plot</strong>: this gateway's segments settled and tickets sent, minute by minute.</li>
      </ul>
    </section>
  </div>
  <noscript><p class="empty">This dashboard needs JavaScript.</p></noscript>
</main>
</body>
</html>
"""
    return DashboardPage(html=html, policy=content_security_policy())
