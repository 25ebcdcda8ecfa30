"""The API's description: OpenAPI 3.1 built from the payload models and one table of operations (``operations``)."""
