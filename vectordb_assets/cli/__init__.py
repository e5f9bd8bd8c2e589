"""`vectordb`: the command line beside the Dagster UI, one module per group of commands."""

from __future__ import annotations

import logging
import os
import warnings

import click

from vectordb_assets.cli import api, inspect_files, local, model_change, runs, search, transfer
from vectordb_assets.cli.errors import ExplainedErrors


def _quiet_libraries() -> None:
    """Keep the model's loading bars and libraries' warnings out of the command's output."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.simplefilter("ignore")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "dagster"):
        logging.getLogger(name).setLevel(logging.ERROR)


@click.group(cls=ExplainedErrors)
def main() -> None:
    """Keep vector indexes in step with the files that land in object storage."""
    _quiet_libraries()


for group in (local, search, inspect_files, runs, model_change, transfer, api):
    for command in group.COMMANDS:
        main.add_command(command)
