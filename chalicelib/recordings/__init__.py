"""Recordings: a stream's sessions (one per period of activity), and a recorded session's VOD playlists and MP4."""
