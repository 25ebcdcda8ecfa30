"""Ingest: a broadcaster's pushed segment (or playlist) is checked, stored and handed to dispatch."""
