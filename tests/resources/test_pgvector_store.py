"""pgvector on the embedded server: load, replace, delete, query, and refusals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from psycopg import sql

from resources.pgvector_store import INDEXED_PART_MIN_ROWS, PARALLEL_PART_MIN_ROWS, PgVectorStore
from resources.vector_store import CollectionNameError, DimensionMismatchError, InvalidVectorError


def records(ids: list[str], vectors: np.ndarray, hashes: list[str] | None = None) -> pa.Table:
    dim = vectors.shape[1]
    return pa.table(
        {
            "id": ids,
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim),
            "text": [f"text {i}" for i in ids],
            "metadata": ['{"n": 1}'] * len(ids),
            "content_hash": hashes or [f"h-{i}" for i in ids],
            "source_key": ["src.csv"] * len(ids),
        }
    )


@pytest.fixture
def store(state_db) -> PgVectorStore:
    store = PgVectorStore(state_db=state_db, collection="items")
    store.ensure_collection(3)
    return store


def test_upsert_then_query_returns_nearest_first(store: PgVectorStore) -> None:
    store.upsert("ns", records(["a", "b", "c"], np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0]], np.float32)))
    hits = store.query("ns", np.array([1, 0, 0], np.float32), 3)
    assert [h.id for h in hits] == ["a", "c", "b"]
    assert hits[0].score == pytest.approx(1.0)
    assert hits[0].metadata == {"n": 1} and hits[0].source_key == "src.csv"


def test_upsert_replaces_by_id_and_namespaces_are_separate(store: PgVectorStore) -> None:
    store.upsert("ns", records(["a"], np.array([[1, 0, 0]], np.float32)))
    store.upsert("ns", records(["a"], np.array([[0, 1, 0]], np.float32), ["h-new"]))
    store.upsert("other", records(["a"], np.array([[0, 0, 1]], np.float32)))
    assert store.count("ns") == 1 and store.count("other") == 1
    assert store.query("ns", np.array([0, 1, 0], np.float32), 1)[0].score == pytest.approx(1.0)


def test_delete_removes_only_the_named_ids(store: PgVectorStore) -> None:
    store.upsert("ns", records(["a", "b"], np.eye(3, dtype=np.float32)[:2]))
    store.delete("ns", ["a", "absent"])
    assert [h.id for h in store.query("ns", np.array([1, 0, 0], np.float32), 5)] == ["b"]


def test_a_different_dimension_is_refused_with_an_exact_message(store: PgVectorStore) -> None:
    with pytest.raises(DimensionMismatchError, match="collection 'items' expects 3 dimensions, not 4"):
        store.upsert("ns", records(["a"], np.ones((1, 4), np.float32)))
    with pytest.raises(DimensionMismatchError, match="expects 3 dimensions, not 384"):
        store.ensure_collection(384)


@pytest.mark.parametrize("name", ['items"; drop table x; --', "Items", "1abc", "a" * 49, ""])
def test_hostile_collection_names_are_refused(state_db, name: str) -> None:
    with pytest.raises(CollectionNameError, match="is not allowed"):
        PgVectorStore(state_db=state_db, collection=name).ensure_collection(3)


def test_the_hnsw_index_is_created_once_after_the_first_load(store: PgVectorStore, state_db) -> None:
    def indexes() -> list[str]:
        with state_db.connect() as conn:
            return [r[0] for r in conn.execute("select indexdef from pg_indexes where tablename = 'items'")]

    assert not any("hnsw" in i for i in indexes())
    store.upsert("ns", records(["a"], np.array([[1, 0, 0]], np.float32)))
    assert not any("hnsw" in i for i in indexes())  # not during the load
    store.after_writes()
    store.upsert("ns", records(["b"], np.array([[0, 1, 0]], np.float32)))
    store.after_writes()
    assert sum("hnsw" in i for i in indexes()) == 1


@pytest.mark.parametrize("distance, expected", [("l2", ["c", "a", "b"]), ("inner_product", ["b", "c", "a"])])
def test_other_distances_order_results_by_their_measure(state_db, distance: str, expected: list[str]) -> None:
    store = PgVectorStore(state_db=state_db, collection=f"items_{distance}", distance=distance)
    store.ensure_collection(2)
    vectors = np.array([[1, 0], [10, 10], [2, 1]], np.float32)
    store.upsert("ns", records(["a", "b", "c"], vectors))
    assert [h.id for h in store.query("ns", np.array([2, 1.2], np.float32), 3)] == expected


def test_the_graph_outgrowing_maintenance_work_mem_is_reported(state_db, caplog: pytest.LogCaptureFixture) -> None:
    store = PgVectorStore(state_db=state_db, collection="big", maintenance_work_mem="1MB")
    store.ensure_collection(384)
    vectors = np.random.default_rng(1).standard_normal((3000, 384)).astype(np.float32)
    store.upsert("ns", records([str(i) for i in range(3000)], vectors))
    with caplog.at_level("WARNING"):
        store.after_writes()
    assert any(
        "maintenance_work_mem" in r.getMessage() and r.getMessage().startswith("PostgreSQL: ") for r in caplog.records
    )


def test_ids_assumed_new_that_exist_after_all_are_upserted(store: PgVectorStore) -> None:
    store.upsert("ns", records(["a"], np.array([[1, 0, 0]], np.float32)), assume_new=True)
    # The ledger lost track of "a" (drift): the fast path meets the existing row and falls back.
    store.upsert(
        "ns", records(["a", "b"], np.array([[0, 1, 0], [0, 0, 1]], np.float32), ["h-new", "h-b"]), assume_new=True
    )
    assert store.count("ns") == 2
    assert store.content_hashes("ns", ["a", "b"]) == {"a": "h-new", "b": "h-b"}


def test_a_large_write_shared_by_two_connections_lands_every_row_once(state_db) -> None:
    store = PgVectorStore(state_db=state_db, collection="big", load_connections=2)
    store.ensure_collection(3)
    rows = 2 * PARALLEL_PART_MIN_ROWS + 1
    ids = [f"id-{i}" for i in range(rows)]
    vectors = np.random.default_rng(5).standard_normal((rows, 3)).astype(np.float32)
    store.upsert("ns", records(ids, vectors), assume_new=True)
    assert store.count("ns") == rows and set(store.list_ids("ns")) == set(ids)
    # The parts overlap the stored rows this time (drift): each falls back to the upsert.
    store.upsert("ns", records(ids, vectors, [f"v2-{i}" for i in ids]), assume_new=True)
    assert store.count("ns") == rows
    assert store.content_hashes("ns", [ids[0], ids[-1]]) == {ids[0]: f"v2-{ids[0]}", ids[-1]: f"v2-{ids[-1]}"}
    with state_db.connect() as conn:
        parts = conn.execute("select count(distinct xmin::text) from big").fetchone()[0]
    assert parts == 2  # written by two transactions, one per connection


def test_runs_finishing_together_build_the_index_once_without_errors(store: PgVectorStore, state_db) -> None:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    store.ensure_collection(3)
    store.upsert("ns", records([f"v{i}" for i in range(200)], np.random.default_rng(1).random((200, 3), np.float32)))
    for _ in range(5):
        with state_db.connect() as conn:
            conn.execute("drop index if exists items_embedding_cosine_hnsw")
        barrier = Barrier(6)

        def finish() -> None:
            barrier.wait()  # noqa: B023 (each pass waits for its own pool)
            store.after_writes()

        with ThreadPoolExecutor(max_workers=6) as pool:
            for done in [pool.submit(finish) for _ in range(6)]:
                done.result()  # a concurrent CREATE INDEX would raise UniqueViolation here
    with state_db.connect() as conn:
        assert conn.execute("select count(*) from pg_indexes where tablename = 'items'").fetchone()[0] == 2


def test_a_numeric_filter_matches_numbers_and_text_alike(store: PgVectorStore) -> None:
    table = records(["a", "b", "c", "d"], np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32))
    table = table.set_column(
        3, "metadata", pa.array(['{"price": 129.0}', '{"price": "129"}', '{"price": 34.5}', '{"price": "cheap"}'])
    )
    store.upsert("ns", table)
    vector = np.array([1, 1, 1], np.float32)
    assert sorted(h.id for h in store.query("ns", vector, 5, {"price": "129"})) == ["a", "b"]
    assert [h.id for h in store.query("ns", vector, 5, {"price": "34.50"})] == ["c"]
    assert [h.id for h in store.query("ns", vector, 5, {"price": "cheap"})] == ["d"]
    assert store.query("ns", vector, 5, {"price": "130"}) == []


def test_a_halfvec_collection_stores_16_bit_values_and_answers_through_its_index(state_db) -> None:
    store = PgVectorStore(state_db=state_db, collection="half", vector_type="halfvec")
    store.ensure_collection(3)
    vectors = np.array([[1, 0, 0], [0, 1, 0], [0.9, 0.1, 0]], np.float32)
    store.upsert("ns", records(["a", "b", "c"], vectors), assume_new=True)
    store.upsert("ns", records(["b"], np.array([[0, 0.5, 0.5]], np.float32), ["h-new"]))  # the staging path
    store.after_writes()
    with state_db.connect() as conn:
        column = conn.execute(
            "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = 'half'::regclass and attname = 'embedding'"
        )
        assert column.fetchone()[0] == "halfvec(3)"
        assert conn.execute("select embedding::text from half where id = 'b'").fetchone()[0] == "[0,0.5,0.5]"
        index = conn.execute("select indexdef from pg_indexes where tablename = 'half' and indexdef like '%hnsw%'")
        assert "halfvec_cosine_ops" in index.fetchone()[0]
        # Enough rows for the planner to prefer the HNSW index to sorting the namespace's rows.
        many = np.random.default_rng(2).standard_normal((2000, 3)).astype(np.float32)
        store.upsert("ns", records([f"r{i}" for i in range(2000)], many), assume_new=True)
        conn.execute("analyze half")
        statement, params = store.search_statement("ns", np.array([1, 0, 0], np.float32), 2)
        plan = conn.execute(sql.SQL("explain ") + statement, params)
        assert "half_embedding_cosine_hnsw" in " ".join(r[0] for r in plan)
    hits = store.query("ns", np.array([1, 0, 0], np.float32), 2000)
    assert [h.id for h in hits if h.id in "abc"] == ["a", "c", "b"] and hits[0].score == pytest.approx(1.0, abs=1e-3)


def test_a_value_beyond_the_halfvec_range_is_refused_naming_the_vector(state_db) -> None:
    store = PgVectorStore(state_db=state_db, collection="half", vector_type="halfvec")
    store.ensure_collection(2)
    with pytest.raises(InvalidVectorError, match=r"vector 'far' has a value beyond ±65504, the range of halfvec"):
        store.upsert("ns", records(["near", "far"], np.array([[1, 2], [1, 70000]], np.float32)))
    assert store.count("ns") == 0


def test_an_existing_collection_keeps_its_type_when_the_setting_changes(store, state_db, caplog) -> None:
    store.upsert("ns", records(["a"], np.array([[1, 0, 0]], np.float32)))
    half = store.model_copy(update={"vector_type": "halfvec"})
    with caplog.at_level("WARNING"):
        half.ensure_collection(3)
    assert "collection 'items' keeps its vector column: VECTORDB_PG_VECTOR_TYPE=halfvec applies to new" in caplog.text
    half.upsert("ns", records(["b"], np.array([[0, 1, 0]], np.float32)))
    assert [h.id for h in half.query("ns", np.array([0, 1, 0], np.float32), 1)] == ["b"]


def test_a_write_into_an_indexed_collection_is_shared_by_two_connections_sooner(state_db) -> None:
    def transactions(table: str) -> int:
        with state_db.connect() as conn:
            return conn.execute(
                sql.SQL("select count(distinct xmin::text) from {}").format(sql.Identifier(table))
            ).fetchone()[0]

    rows = 2 * INDEXED_PART_MIN_ROWS
    vectors = np.random.default_rng(6).standard_normal((2 * rows, 3)).astype(np.float32)
    indexed = PgVectorStore(state_db=state_db, collection="indexed", load_connections=2)
    plain = PgVectorStore(state_db=state_db, collection="plain", load_connections=2)
    for store in (indexed, plain):
        store.ensure_collection(3)
        store.upsert("ns", records([f"first-{i}" for i in range(rows)], vectors[:rows]))
    indexed.after_writes()
    for store in (indexed, plain):
        store.upsert("ns", records([f"second-{i}" for i in range(rows)], vectors[rows:]), assume_new=True)
    assert transactions("plain") == 2  # one per write
    assert transactions("indexed") == 3  # the second write in two parts, one per connection
    assert indexed.count("ns") == 2 * rows


def test_more_search_candidates_find_more_of_the_exact_nearest(state_db) -> None:
    vectors = np.random.default_rng(7).standard_normal((3000, 128)).astype(np.float32)
    asked = np.random.default_rng(8).standard_normal((20, 128)).astype(np.float32)
    store = PgVectorStore(state_db=state_db, collection="searched", ef_search=10)
    store.ensure_collection(128)
    store.upsert("ns", records([f"r{i}" for i in range(3000)], vectors))
    store.after_writes()
    with state_db.connect() as conn:
        conn.execute("analyze searched")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = [{f"r{i}" for i in np.argsort(-(unit @ q))[:10]} for q in asked]

    def recall(searched: PgVectorStore) -> float:
        return float(np.mean([len({h.id for h in searched.query("ns", q, 10)} & e) / 10 for q, e in zip(asked, exact)]))

    few, many = recall(store), recall(store.model_copy(update={"ef_search": 400}))
    assert many >= 0.99 and few < many - 0.05, (few, many)


def test_a_filtered_search_finds_top_k_beyond_the_first_candidates(state_db) -> None:
    store = PgVectorStore(state_db=state_db, collection="crowded", ef_search=40)
    store.ensure_collection(3)
    # Enough rows for the planner to search the graph rather than filter and sort the table.
    vectors = np.random.default_rng(9).standard_normal((20000, 3)).astype(np.float32)
    table = records([f"r{i}" for i in range(20000)], vectors)
    rare = ['{"kind": "rare"}' if i % 100 == 0 else '{"kind": "common"}' for i in range(20000)]
    store.upsert("ns", table.set_column(table.schema.get_field_index("metadata"), "metadata", pa.array(rare)))
    store.after_writes()
    with state_db.connect() as conn:
        conn.execute("analyze crowded")
    # Of the graph's first 40 candidates, about one is rare: the scan goes on past them.
    hits = store.query("ns", np.array([1, 0, 0], np.float32), 10, {"kind": "rare"})
    assert len(hits) == 10 and all(int(h.id[1:]) % 100 == 0 for h in hits)
