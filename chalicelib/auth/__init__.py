"""Who is calling: API keys, stored as SHA-256 hashes, presented as ``Authorization: Bearer``."""
