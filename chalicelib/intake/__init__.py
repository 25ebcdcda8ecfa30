"""The orchestrator's intake: check a job a gateway sent and queue it for this orchestrator's workers."""
