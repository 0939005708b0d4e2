"""The GitHub App server: the web edge, the worker pool, jobs, metrics and logs."""
