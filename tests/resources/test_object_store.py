"""Object stores: the local folder and S3 through real boto3 on moto's server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from resources.object_store import LocalObjectStore, ObjectNotFoundError, ObjectStore, S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(root=str(tmp_path / "store"))
    bucket = request.getfixturevalue("s3_bucket")
    return S3ObjectStore(s3=request.getfixturevalue("s3_resource"), bucket=bucket, prefix="base/dir")


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_put_list_head_and_read_back(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("b/two.csv", _file(tmp_path, "2", b"id,text\n2,two\n"))
    store.put_file("a/one.csv", _file(tmp_path, "1", b"id,text\n1,one\n"))
    assert [o.key for o in store.list_objects()] == ["a/one.csv", "b/two.csv"]
    assert [o.key for o in store.list_objects("b/")] == ["b/two.csv"]
    head = store.head("a/one.csv")
    assert head.size == len(b"id,text\n1,one\n") and head.etag
    with store.local_path("a/one.csv") as path:
        assert path.read_bytes() == b"id,text\n1,one\n"


def test_replacing_an_object_changes_its_etag(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("x.csv", _file(tmp_path, "1", b"first"))
    before = store.head("x.csv").etag
    store.put_file("x.csv", _file(tmp_path, "2", b"second version"))
    assert store.head("x.csv").etag != before
    assert len(list(store.list_objects())) == 1


def test_missing_objects_raise_a_clear_error(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFoundError, match="no object .*missing.csv"):
        store.head("missing.csv")
    store.delete("missing.csv")


def test_links_open_the_objects_bytes(store: ObjectStore, tmp_path: Path) -> None:
    store.put_file("doc.jsonl", _file(tmp_path, "d", b'{"text": "hi"}\n'))
    with urllib.request.urlopen(store.url("doc.jsonl")) as response:
        assert response.read() == b'{"text": "hi"}\n'


def test_local_keys_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="leaves the store"):
        LocalObjectStore(root=str(tmp_path)).head("../etc/passwd")


def test_a_folder_link_inside_the_folder_cannot_reach_outside_it(tmp_path: Path) -> None:
    root, outside = tmp_path / "landing", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("id,text\n1,payroll\n")
    (root / "lnk").symlink_to(outside, target_is_directory=True)
    (root / "inner").mkdir()
    (root / "inner/a.csv").write_text("id,text\n1,a\n")
    (root / "alias").symlink_to(root / "inner", target_is_directory=True)
    store = LocalObjectStore(root=str(root))
    for read in (store.head, store.url, lambda key: store.local_path(key).__enter__()):
        with pytest.raises(ValueError, match="link to outside the store"):
            read("lnk/secret.csv")
    with pytest.raises(ValueError, match="link to outside the store"):
        store.put_file("lnk/planted.csv", outside / "secret.csv")
    assert not (outside / "planted.csv").exists()
    assert store.head("alias/a.csv").size == (root / "inner/a.csv").stat().st_size  # a link that stays inside
