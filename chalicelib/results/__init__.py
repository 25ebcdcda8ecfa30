"""Results: a worker's manifest landed in the media bucket, so its segment is settled (ready or failed)."""
