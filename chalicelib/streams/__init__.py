"""Streams: what a broadcaster pushes to and viewers play, with its rendition ladder."""
