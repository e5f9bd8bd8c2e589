"""One retry policy for every external service (OpenAI, Metabase, Pinecone, S3 Vectors, S3 uploads).

Exponential backoff with jitter, capped; a server's `Retry-After` is honoured; which errors are
transient is decided per service by a predicate, and a 401, 403 or 404 is never retried.

Whether an error is an outage is decided here, once, by the resource that met it: a transient
error that outlasts the retries leaves the resource as `TransientServiceError`, and a service that
refuses the settings themselves (a bad key, a malformed URL) as `ServiceMisconfigured`. The
stages classify a file's error by these classes only: an outage is never a file's fault.

Example::

    policy = RetryPolicy(transient=boto_transient, attempts=5, service="S3 Vectors")
    policy.call(client.put_vectors, vectorBucketName="b", indexName="i", vectors=[...])
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

T = TypeVar("T")

NEVER_RETRIED = frozenset({401, 403, 404})
# AWS error codes that mean "slow down" or "try again", whatever the HTTP status says.
TRANSIENT_AWS_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "PriorRequestNotComplete",
    }
)
MAX_RETRY_AFTER_SECONDS = 120.0
# A refusal of the credentials themselves: the settings are wrong, not the file.
REFUSED_CREDENTIALS = frozenset({401, 403})


class TransientServiceError(Exception):
    """A service stayed unreachable, overloaded or in contention through every retry: the step
    is retried later and no file is blamed."""

    def __init__(self, service: str, error: BaseException):
        super().__init__(f"{service} is unavailable (after retries): {type(error).__name__}: {error}")
        self.service = service


class ServiceMisconfigured(Exception):
    """A service refuses the settings (its key, its URL): the run fails, none of its files."""

    def __init__(self, service: str, reason: str):
        super().__init__(f"{service} refuses the configured settings: {reason}")
        self.service = service


@contextmanager
def outages(service: str, transient: Callable[[BaseException], bool]) -> Iterator[None]:
    """Errors of `service` that `transient` says another attempt may not meet leave the block as
    `TransientServiceError` (for calls whose SDK retries on its own, such as boto3's)."""
    try:
        yield
    except (TransientServiceError, ServiceMisconfigured):
        raise
    except Exception as error:
        if transient(error):
            raise TransientServiceError(service, error) from error
        raise


def http_status(error: BaseException) -> int | None:
    """The HTTP status an SDK error carries, whichever SDK raised it."""
    for name in ("status_code", "status"):
        value = getattr(error, name, None)
        if isinstance(value, int):
            return value
    response = getattr(error, "response", None)
    if isinstance(response, dict):  # botocore
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def transient_status(status: int | None) -> bool:
    """429, 408 and 5xx are worth another try; any other status is the caller's to fix."""
    return status is not None and (status in (408, 429) or status >= 500)


def _headers(error: BaseException) -> Any:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return getattr(response, "headers", None) or getattr(error, "headers", None) or {}


def retry_after(error: BaseException | None) -> float | None:
    """Seconds the server asked us to wait (`Retry-After` as seconds or an HTTP date), if it did."""
    if error is None:
        return None
    headers = _headers(error)
    raw = headers.get("retry-after") or headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


def boto_transient(error: BaseException) -> bool:
    """Throttling, 5xx, timeouts and dropped connections from boto3; never 4xx like 403 or NoSuchBucket."""
    from boto3.exceptions import S3UploadFailedError  # here: a search over pgvector never imports boto3

    if isinstance(error, S3UploadFailedError) and error.__context__ is not None:
        return boto_transient(error.__context__)  # the transfer manager wraps the client's error
    if isinstance(error, ClientError):
        status = http_status(error)
        if status in NEVER_RETRIED:
            return False
        return error.response.get("Error", {}).get("Code") in TRANSIENT_AWS_CODES or transient_status(status)
    return isinstance(error, (BotoConnectionError, HTTPClientError))


def status_transient(error: BaseException) -> bool:
    """For SDKs whose errors carry an HTTP status (Pinecone): 408, 429 and 5xx."""
    return transient_status(http_status(error))


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try, how long to wait between tries, and which errors deserve another."""

    transient: Callable[[BaseException], bool]
    attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[RetryCallState], None] | None = None
    # The service's name: a transient error that outlasts the attempts is raised as
    # TransientServiceError; with `credentials`, a 401 or 403 as ServiceMisconfigured.
    service: str | None = None
    credentials: bool = False

    def wait(self, state: RetryCallState) -> float:
        """Retry-After when the server sent one, else exponential backoff with jitter."""
        asked = retry_after(state.outcome.exception() if state.outcome else None)
        if asked is not None:
            return min(asked, MAX_RETRY_AFTER_SECONDS)
        return min(self.base_seconds * 2 ** (state.attempt_number - 1), self.max_seconds) * random.uniform(0.5, 1.0)

    def _retryable(self, error: BaseException) -> bool:
        return http_status(error) not in NEVER_RETRIED and self.transient(error)

    def retrying(self) -> Retrying:
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self.wait,
            retry=retry_if_exception(self._retryable),
            sleep=self.sleep,
            before_sleep=self.on_retry,
            reraise=True,
        )

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)`, tried again on transient errors; the last error is raised as it
        is, or, for a named service, as `TransientServiceError` / `ServiceMisconfigured`."""
        if self.service is None:
            return self.retrying()(fn, *args, **kwargs)
        try:
            with outages(self.service, self._retryable):
                return self.retrying()(fn, *args, **kwargs)
        except Exception as error:
            if self.credentials and http_status(error) in REFUSED_CREDENTIALS:
                raise ServiceMisconfigured(self.service, f"{type(error).__name__} ({http_status(error)})") from error
            raise
