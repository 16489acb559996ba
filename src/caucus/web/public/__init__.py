"""The public side: results pages, the media feed and live updates, read from snapshot files only."""
