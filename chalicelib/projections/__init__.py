"""Chain events → projections in DynamoDB: what the Lambdas know of the chain without a JSON-RPC call.

Flow: a scheduled poller (``poller``, the only part that loads web3) reads the protocol contracts' logs after
a block cursor kept in DynamoDB (``cursor``), only ``chain_confirmations`` deep, and puts one message per
decoded event on the chain-event FIFO queue (``queue``); the projector (``projector``) writes each message's
entity states to the ``projections`` table (``store``); ``view`` answers from it (``ProjectedChainView``:
the payment checks' ``ChainView``, and the gateway's ``active_orchestrators``).

Design, so that a reorg or a restart leaves the projections equal to a fresh read of the chain:

- States, not deltas. A message carries, for each entity its event touched (``entities.touched``: an
  orchestrator with the fees the TicketBroker credited it, a sender, a sender's reserve claims by one
  recipient, a round's block hash, the round clock, the broker's periods), the entity's whole contract state
  read *by block hash* at the poll's last block (``reader``). Nothing is summed, so nothing is applied twice:
  a repeated message rewrites the same state. What moves with the round rather than with an event (terms in
  force, active, the reserve still claimable) is stored raw with the round it was read in and derived when
  asked, from the round at the newest confirmed block.
- Versions. Each poll takes the next sequence number (its ``version``) from the cursor, by a conditional
  write, and the table keeps an entity's state only if its version is the newest; so a late, repeated or
  out-of-order message never takes a projection back, and two overlapping pollers cannot both commit.
- Journal. Before sending, a poll writes its range, the hash of its last block and the entities it touched,
  and marks itself pending; it commits the cursor (last block number and hash) after sending. A poll finds
  the cursor's block gone from the chain (a reorg): it walks back through the journal to the newest poll
  whose last block is still there, resumes after it, and re-reads every entity the orphaned polls touched.
  A pending poll (the poller stopped mid-send) is made good the same way. Entities untouched since the fork
  are the same on both forks, so after the poll every entity equals its state on the new chain. One that only
  an orphaned fork knew re-reads as the contracts' zero state, which ``view`` answers as it answers for an
  entity never projected (an orchestrator in it is not listed: ``OrchestratorState.known``).
"""
