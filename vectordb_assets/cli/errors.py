"""Errors a user can meet and fix, printed as one line instead of a traceback."""

from __future__ import annotations

from typing import Any

import click

from resources.redaction import redact


def explain(error: Exception) -> str | None:
    """One line for an error a user can meet and fix (credentials, endpoints, the database), or
    None for one that is a bug and keeps its traceback."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    from psycopg import OperationalError

    from resources.location import LocationError
    from resources.retry import ServiceMisconfigured, TransientServiceError
    from vectordb_assets.indexing.generations import GenerationError

    if isinstance(error, TransientServiceError) and isinstance(error.__cause__, Exception):
        return explain(error.__cause__) or str(error).strip().splitlines()[0]
    if isinstance(error, ServiceMisconfigured):
        return str(error).strip().splitlines()[0]

    if isinstance(error, NoCredentialsError):
        return "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{error.operation_name} was refused: {details.get('Code', '?')}: {details.get('Message', '')}".rstrip(
            ": "
        )
    if isinstance(error, BotoCoreError):
        return f"S3: {error}"
    if isinstance(error, OperationalError):
        return f"the database cannot be reached: {str(error).strip().splitlines()[0]}"
    if isinstance(error, (GenerationError, LocationError)):
        return str(error)
    return None


class ExplainedErrors(click.Group):
    """A command group whose commands' fixable errors are printed as one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:
            message = explain(error)
            if message is None:
                raise
            raise click.ClickException(redact(message)) from None
