"""Policies every asset of the chain shares."""

import warnings

import dagster as dg

BACKFILL_POLICY_PARTITIONS = 100
# Backfill policies are beta in Dagster 1.13 and chosen knowingly: their warning is not repeated
# by every process that loads the code location (the code server and each run).
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

# A step that fails as a whole (the database restarting, a 5xx storm that outlasts the in-call
# retries) is tried again with growing delays; a file's own error fails without retries.
RETRY_POLICY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
