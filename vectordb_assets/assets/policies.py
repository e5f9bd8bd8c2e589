"""Policies every asset of the chain shares."""

import dagster as dg

BACKFILL_POLICY_PARTITIONS = 100

# A step that fails as a whole (the database restarting, a 5xx storm that outlasts the in-call
# retries) is tried again with growing delays; a file's own error fails without retries.
RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
