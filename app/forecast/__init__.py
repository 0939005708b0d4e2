"""`tiered-review forecast`: a repository's history replayed through the planner."""
