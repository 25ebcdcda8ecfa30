"""The transcode job and its result: the one contract between gateway, orchestrator intake and worker.

Payload models only (no AWS, no PyAV), so the worker and the Lambda bundle can both import them.
"""
