"""Webhooks: an app's subscriptions to its streams' events, posted signed through a queue, with retries and a log.

``store`` keeps the subscriptions (``webhooks`` table), their shared secrets sealed by KMS (``sealing``);
``service`` is the API's create/read/update/delete; ``emitter`` turns a stream's lifecycle event into one
queued delivery per subscribed webhook; ``delivery`` posts each, signed (``signing``), retries on the
schedule of ``retry`` and writes every attempt to the ``deliverylog``. See README.md "Webhooks".
"""
