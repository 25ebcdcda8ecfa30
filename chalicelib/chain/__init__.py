"""The protocol on chain, for Python: ticket code that matches the TicketBroker, and typed contract bindings.

``tickets`` hashes, signs and judges tickets exactly as the contract does; ``deployment`` reads the
deployment file that ``make deploy-contracts`` writes; ``protocol`` wraps the deployed contracts in typed calls;
``pool_hints`` finds the sorted-list hints that keep stake changes O(1) in a large active set; ``events``
decodes the contracts' logs for the chain-event pipeline.
"""
