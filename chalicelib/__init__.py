"""The gateway and orchestrator library that Chalice packages into the Lambda bundle.

One package per step of the segment's flow (see ``docs/architecture.md``): ``core`` (settings, AWS
clients, resource names, errors, logs, the SQS batch helper), ``auth``, ``streams``, ``segments``,
``jobs`` (the payloads the worker shares), ``ingest``, ``dispatch``, ``intake``, ``results``,
``playback`` and ``chain`` (web3 bindings; never imported by the Lambda handlers).
"""
