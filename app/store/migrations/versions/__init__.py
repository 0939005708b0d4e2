"""Schema revisions, oldest first by their `0001_`-style ids."""
