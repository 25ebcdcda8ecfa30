"""Playback: HLS master and media playlists from the segment ledger, and the segments themselves."""
