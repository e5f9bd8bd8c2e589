"""Sample files the platform ships: a CSV, a Parquet file with 384-d vectors, and a JSONL file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from resources.embedders import Embedder

ARTICLES = [
    (
        "kb-001",
        "Resetting a forgotten password",
        "Open the sign-in page, choose 'Forgot password' and follow the link sent to your email address.",
    ),
    (
        "kb-002",
        "Exporting invoices as PDF",
        "Invoices can be downloaded as PDF files from the billing page, one at a time or as a zip archive.",
    ),
    (
        "kb-003",
        "Two-factor authentication",
        "Protect your account with a one-time code from an authenticator app in addition to your password.",
    ),
    (
        "kb-004",
        "Changing the billing plan",
        "Upgrade or downgrade your subscription plan at any time; the price difference is prorated.",
    ),
    (
        "kb-005",
        "Inviting team members",
        "Administrators can invite colleagues by email and choose whether they may edit or only view.",
    ),
    (
        "kb-006",
        "Connecting a Slack workspace",
        "Install the Slack integration to receive alerts about failed jobs in a channel of your choice.",
    ),
    (
        "kb-007",
        "Deleting your account",
        "Account deletion removes all projects and data permanently after a fourteen-day grace period.",
    ),
    (
        "kb-008",
        "API rate limits",
        "The public API allows 600 requests per minute per token; exceeding it returns HTTP 429.",
    ),
]

PRODUCTS = [
    ("sku-100", "Trail running shoes with a grippy outsole for muddy mountain paths", "footwear", 129.0),
    ("sku-101", "Waterproof hiking jacket with sealed seams and an adjustable hood", "outerwear", 189.0),
    ("sku-102", "Insulated stainless steel bottle that keeps drinks cold for a day", "accessories", 34.5),
    ("sku-103", "Lightweight two-person tent for backpacking trips", "camping", 299.0),
    ("sku-104", "Merino wool socks that stay warm when wet", "footwear", 19.9),
    ("sku-105", "Headlamp with a rechargeable battery and red night mode", "accessories", 49.0),
]

REVIEWS = [
    {
        "review_id": "r-1",
        "product": "sku-100",
        "rating": 5,
        "body": "The shoes held on wet rocks and the cushioning is great for long runs.",
        "author": {"name": "Ana", "country": "PT"},
    },
    {
        "review_id": "r-2",
        "product": "sku-101",
        "rating": 4,
        "body": "Stayed dry in a full day of rain, though the hood is a little tight.",
        "author": {"name": "Ben", "country": "UK"},
    },
    {
        "review_id": "r-3",
        "product": "sku-103",
        "rating": 3,
        "body": "The tent is light but setting it up alone in wind took a while.",
        "author": {"name": "Chen", "country": "SG"},
    },
    {
        "review_id": "r-4",
        "product": "sku-105",
        "rating": 5,
        "body": "Bright headlamp, the battery lasted a whole night hike.",
        "author": {"name": "Dara", "country": "IE"},
    },
    {
        "review_id": "r-5",
        "product": "sku-102",
        "rating": 4,
        "body": "Water was still cold after eight hours in the car.",
        "author": {"name": "Eli", "country": "US"},
    },
]


def write_samples(folder: Path, embedder: Embedder) -> list[Path]:
    """Write the sample files into `folder`; the Parquet file's vectors come from `embedder`."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "help_center/articles.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "text"])
        writer.writerows(ARTICLES)

    parquet_path = folder / "catalog/products.parquet"
    parquet_path.parent.mkdir(parents=True, exist_ok=True)
    descriptions = [p[1] for p in PRODUCTS]
    vectors = embedder.embed(descriptions)
    pq.write_table(
        pa.table(
            {
                "id": [p[0] for p in PRODUCTS],
                "description": descriptions,
                "category": [p[2] for p in PRODUCTS],
                "price": [p[3] for p in PRODUCTS],
                "embedding": pa.FixedSizeListArray.from_arrays(
                    pa.array(vectors.reshape(-1), pa.float32()), vectors.shape[1]
                ),
            }
        ),
        parquet_path,
    )

    jsonl_path = folder / "reviews/2026-11-01.jsonl"
    jsonl_path.parent.mkdir(parents=True, exist_ok=True)
    jsonl_path.write_text("".join(json.dumps(r) + "\n" for r in REVIEWS), encoding="utf-8")
    return [csv_path, parquet_path, jsonl_path]
