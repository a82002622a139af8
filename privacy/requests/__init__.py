"""California privacy requests: intake, clocks, answers, export and erasure."""
