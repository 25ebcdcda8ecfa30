"""Dispatch: choose an orchestrator, build the segment's job with presigned URLs, send it with failover."""
