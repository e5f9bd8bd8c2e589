"""The one retry policy: what is retried, how long it waits, and what never is."""

from __future__ import annotations

import httpx
import openai
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from resources.retry import RetryPolicy, boto_transient, retry_after, status_transient


def aws_error(code: str, status: int, retry_after_header: str | None = None) -> ClientError:
    headers = {"retry-after": retry_after_header} if retry_after_header else {}
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers}}, "Op"
    )


def openai_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://localhost/v1/embeddings")
    response = httpx.Response(status, headers=headers or {}, request=request)
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError, 401: openai.AuthenticationError}[status]
    return cls("boom", response=response, body=None)


class Flaky:
    """Raises the given errors in turn, then answers 'ok'."""

    def __init__(self, *errors: BaseException):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    "error, transient",
    [
        (aws_error("SlowDown", 503), True),
        (aws_error("ThrottlingException", 400), True),
        (aws_error("InternalError", 500), True),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (aws_error("AccessDenied", 403), False),
        (aws_error("NoSuchBucket", 404), False),
        (aws_error("ValidationException", 400), False),
    ],
)
def test_aws_errors_are_told_apart(error: BaseException, transient: bool) -> None:
    policy = RetryPolicy(boto_transient, attempts=3, sleep=lambda s: None)
    flaky = Flaky(error)
    if transient:
        assert policy.call(flaky) == "ok" and flaky.calls == 2
    else:
        with pytest.raises(type(error)):
            policy.call(flaky)
        assert flaky.calls == 1


def test_retry_after_is_honoured_in_seconds_and_as_a_date() -> None:
    slept: list[float] = []
    policy = RetryPolicy(lambda e: isinstance(e, openai.RateLimitError), attempts=4, sleep=slept.append)
    flaky = Flaky(
        openai_error(429, {"retry-after": "7"}), openai_error(429, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    assert policy.call(flaky) == "ok"
    assert slept == [7.0, 0.0]  # a date in the past means: now
    assert retry_after(aws_error("SlowDown", 503, "3")) == 3.0


def test_backoff_grows_with_jitter_and_gives_up_after_the_attempts() -> None:
    slept: list[float] = []
    policy = RetryPolicy(status_transient, attempts=4, base_seconds=1.0, max_seconds=3.0, sleep=slept.append)
    flaky = Flaky(*(openai_error(500) for _ in range(4)))
    with pytest.raises(openai.InternalServerError):
        policy.call(flaky)
    assert flaky.calls == 4 and len(slept) == 3
    for wait, ceiling in zip(slept, (1.0, 2.0, 3.0)):
        assert ceiling / 2 <= wait <= ceiling


def test_401_403_404_are_never_retried_whatever_the_service_predicate_says() -> None:
    policy = RetryPolicy(lambda e: True, attempts=5, sleep=lambda s: None)
    for error in (openai_error(401), aws_error("AccessDenied", 403), aws_error("NotFound", 404)):
        flaky = Flaky(error)
        with pytest.raises(type(error)):
            policy.call(flaky)
        assert flaky.calls == 1
