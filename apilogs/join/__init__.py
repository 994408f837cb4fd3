"""join: a request's lines across services, by their IDs and by timing (correlate), and each
line labelled with its request as it streams (label)."""
