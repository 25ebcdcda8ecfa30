"""The segment ledger: one record per sequence number of a stream, from receipt to ready (or failed)."""
