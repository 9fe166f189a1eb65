"""Folder storage: keys never escape the root, writes are atomic, listing is stable."""

from __future__ import annotations

import os

import pytest

from redactor.errors import UnsafeKeyError
from redactor.storage import FolderStorage, MemoryStorage, safe_key


@pytest.mark.parametrize(
    "key",
    ["", "../x.jpg", "a/../../x.jpg", "/etc/passwd", "a//b.jpg", "./a.jpg", "a/./b.jpg", "a\\..\\b", "a\x00b", "a/"],
)
def test_unsafe_keys_are_refused(key):
    with pytest.raises(UnsafeKeyError):
        safe_key(key)


def test_normal_keys_pass():
    assert safe_key("a/b/c.jpg") == "a/b/c.jpg"
    assert safe_key("身份证/正面 1.jpg") == "身份证/正面 1.jpg"


def test_symlinked_folder_cannot_redirect_writes(tmp_path):
    root = tmp_path / "dst"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    store = FolderStorage(root)
    with pytest.raises(UnsafeKeyError):
        store.write("link/x.jpg", b"data")
    assert not (outside / "x.jpg").exists()


def test_listing_is_recursive_sorted_and_skips_symlinked_dirs(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"1")
    (tmp_path / "b" / "c.png").write_bytes(b"2")
    os.symlink(tmp_path / "b", tmp_path / "zlink")
    assert list(FolderStorage(tmp_path).iter_keys()) == ["a.jpg", "b/c.png"]


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    store = FolderStorage(tmp_path / "out", create=True)
    store.write("x/y.jpg", b"one")
    store.write("x/y.jpg", b"two")
    assert (tmp_path / "out" / "x" / "y.jpg").read_bytes() == b"two"
    assert os.listdir(tmp_path / "out" / "x") == ["y.jpg"]
    assert store.read_optional("x/missing.jpg") is None
    assert store.read_optional("../escape") is None


def test_memory_twin_behaves_like_a_folder():
    store = MemoryStorage({"b.jpg": b"2", "a.jpg": b"1"})
    assert list(store.iter_keys()) == ["a.jpg", "b.jpg"]
    store.write("c/d.jpg", b"3")
    assert store.exists("c/d.jpg") and store.read("c/d.jpg") == b"3"
    store.delete("c/d.jpg")
    assert not store.exists("c/d.jpg")
    with pytest.raises(UnsafeKeyError):
        store.write("../x", b"")
