"""The gateway and orchestrator library that Chalice packages into the Lambda bundle."""
