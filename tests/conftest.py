from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from redactor.core.stamps import StampKey

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
POLICIES = ROOT / "policies"


@pytest.fixture
def samples_dir() -> Path:
    return SAMPLES


#: Where the fields of a plain ID card front sit, in card-relative units (x0, y0, x1, y1):
#: test data for pure pipeline logic, not a locator's knowledge.
ID_CARD_BOXES = {
    "name": (0.178, 0.125, 0.27, 0.182),
    "gender": (0.178, 0.252, 0.216, 0.309),
    "ethnicity": (0.438, 0.254, 0.476, 0.309),
    "birth": (0.178, 0.379, 0.458, 0.436),
    "address": (0.178, 0.506, 0.598, 0.635),
    "id_number": (0.328, 0.808, 0.851, 0.864),
    "portrait": (0.64, 0.127, 0.925, 0.705),
}


#: The stamp key of tests that write to object stores (a run refuses one without a key).
TEST_STAMP_KEY = StampKey.derived("redactor tests: not a real secret")


def count_puts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every key our COS client PUTs from now on, in order (a test sees what was written)."""
    from redactor.cos.client import CosClient

    puts: list[str] = []
    original = CosClient.put_object

    def counting(self, bucket, key, *args, **kwargs):
        puts.append(key)
        return original(self, bucket, key, *args, **kwargs)

    monkeypatch.setattr(CosClient, "put_object", counting)
    return puts


@contextmanager
def emulated_cos(monkeypatch: pytest.MonkeyPatch, bucket: str, secret_id: str, secret_key: str) -> Iterator[Any]:
    """The project's emulator on loopback with ``bucket``, this process's COS variables pointing
    at it (as a user's shell would), and a client of it; yields ``(client, emulator)``."""
    from redactor.cos.client import CosClient
    from redactor.cos.config import CosConfig, Credentials
    from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store

    store = Store()
    store.create_bucket(bucket)
    emulator = EmulatorApp(store, EmulatorConfig(credentials={secret_id: secret_key}, ci_engine="replay"))
    monkeypatch.setenv("COS_SECRET_ID", secret_id)
    monkeypatch.setenv("COS_SECRET_KEY", secret_key)
    monkeypatch.setenv("COS_REGION", "ap-guangzhou")
    with EmulatorServer(emulator) as server:
        monkeypatch.setenv("COS_ENDPOINT", server.url)
        config = CosConfig(region="ap-guangzhou", endpoint=server.url)
        with CosClient(config, Credentials(secret_id, secret_key)) as client:
            yield client, emulator
