"""The cloud half end to end over loopback: our client against the project's emulator
(with faults), and ``redactor run --engine cos`` giving the same masks as ``--engine local``."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from redactor.cli import app
from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.cos.errors import CosAccessDeniedError, CosError, NoSuchKeyError
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store

from .conftest import SAMPLES, count_puts

BUCKET = "redact-1250000000"
SECRET_ID = "AKIDtestcloud0000000000000000000000"
SECRET_KEY = "CANARY-secret-key-never-logged-0001"


def _server(**config: object) -> EmulatorServer:
    store = Store()
    store.create_bucket(BUCKET)
    emulator = EmulatorApp(store, EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, **config))  # type: ignore[arg-type]
    return EmulatorServer(emulator)


def _client(url: str, **options: object) -> CosClient:
    config = CosConfig(region="ap-guangzhou", endpoint=url, **options)  # type: ignore[arg-type]
    return CosClient(config, Credentials(SECRET_ID, SECRET_KEY))


def test_client_survives_faults_and_never_logs_secrets(caplog):
    caplog.set_level(logging.DEBUG)
    spec = "put:5xx=0.2,slowdown=0.1,reset=0.05;get:5xx=0.2,slowdown=0.1,reset=0.05,truncate=0.05"
    with _server(faults=spec, seed=7) as server, _client(server.url, max_attempts=8, deadline=30.0) as client:
        for i in range(25):
            data = f"object {i} ".encode() * 50
            client.put_object(BUCKET, f"faults/{i}.bin", data)
            assert client.get_object(BUCKET, f"faults/{i}.bin") == data
        with pytest.raises(NoSuchKeyError):  # a 4xx is not retried, even with faults on
            client.get_object(BUCKET, "faults/missing.bin")
    text = caplog.text
    assert SECRET_KEY not in text and "q-signature" not in text


def test_wrong_key_is_refused_and_the_error_hides_the_secret():
    with _server() as server:
        config = CosConfig(region="ap-guangzhou", endpoint=server.url)
        client = CosClient(config, Credentials(SECRET_ID, "a-wrong-secret-key-CANARY"))
        with client, pytest.raises(CosAccessDeniedError) as info:
            client.put_object(BUCKET, "x.bin", b"x")
    assert "SignatureDoesNotMatch" in str(info.value) and "CANARY" not in str(info.value)


def test_timeouts_fire():
    with (
        _server(latency_ms=1500) as server,
        _client(server.url, timeout=0.3, max_attempts=2, deadline=3.0) as client,
        pytest.raises(CosError),
    ):
        client.head_object(BUCKET, "anything")


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in (
        "idcard-front-scan-0001.png",
        "idcard-front-photo-0006.jpg",  # (0005: the second look holds it back, whatever the engine)
        "license-scan-0007.png",
        "noncard-0012.jpg",
    ):
        shutil.copy(SAMPLES / name, src / name)
    return src


def test_engine_cos_gives_the_same_masks_as_engine_local(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("COS_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("COS_SECRET_KEY", SECRET_KEY)
    runner = CliRunner()
    local = runner.invoke(app, ["run", str(folder), str(tmp_path / "local"), "--engine", "local"])
    assert local.exit_code == 1, local.output  # the non-card is quarantined
    with _server(ci_engine="local") as server:
        cloud = runner.invoke(
            app,
            [
                "run",
                str(folder),
                str(tmp_path / "cloud"),
                "--engine",
                "cos",
                "--endpoint",
                server.url,
                "--region",
                "ap-guangzhou",
                "--staging",
                f"cos://{BUCKET}/staging/",
            ],
        )
        assert cloud.exit_code == 1, cloud.output
        with _client(server.url) as client:
            assert list(client.iter_objects(BUCKET, "staging/")) == []  # staging objects deleted
    outputs = sorted(p.name for p in (tmp_path / "local").iterdir() if p.is_file())
    assert outputs == sorted(p.name for p in (tmp_path / "cloud").iterdir() if p.is_file())
    assert len(outputs) == 3
    for name in outputs:
        a = np.asarray(Image.open(tmp_path / "local" / name).convert("RGB"))
        b = np.asarray(Image.open(tmp_path / "cloud" / name).convert("RGB"))
        assert (a == b).all(), name


def test_engine_cos_without_staging_is_a_usage_error(folder, tmp_path, monkeypatch):
    monkeypatch.delenv("REDACTOR_STAGING", raising=False)
    result = CliRunner().invoke(app, ["run", str(folder), str(tmp_path / "o"), "--engine", "cos"])
    assert result.exit_code == 2 and "staging" in result.output


def test_stored_object_is_recognised_in_place_without_staging():
    from redactor.core.imaging import decode
    from redactor.core.results import StoredObject
    from redactor.locators.base import LocateRequest
    from redactor.locators.cloud import CloudLocator, Staging

    name = "license-scan-0007.png"
    data = (SAMPLES / name).read_bytes()
    with _server(ci_engine="replay") as server, _client(server.url) as client:
        client.put_object(BUCKET, f"cards/{name}", data)
        client.put_object(BUCKET, f"cards/{name}.ailicenserec.xml", (SAMPLES / f"{name}.ailicenserec.xml").read_bytes())
        locator = CloudLocator(client, Staging(BUCKET, "staging/"))
        image = decode(data).image
        detection = locator.locate(LocateRequest(image, stored=StoredObject(BUCKET, f"cards/{name}", as_decoded=True)))
        assert detection.found_anything and detection.card_type is not None
        assert detection.card_type.value == "DriverLicense"  # auto: IDCard found nothing, then DriverLicense
        assert list(client.iter_objects(BUCKET, "staging/")) == []


def test_staged_images_a_killed_run_left_are_deleted_when_the_next_run_starts(folder, tmp_path, monkeypatch):
    """kill -9 skips every ``finally``: the next run clears the staging prefix first, so no
    unmasked copy outlives the run that comes after."""
    monkeypatch.setenv("COS_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("COS_SECRET_KEY", SECRET_KEY)
    with _server(ci_engine="local") as server:
        with _client(server.url) as client:
            for n in range(3):
                client.put_object(BUCKET, f"staging/{n:032x}.png", (SAMPLES / "license-scan-0007.png").read_bytes())
        args = ["run", str(folder), str(tmp_path / "o"), "--engine", "cos", "--endpoint", server.url]
        result = CliRunner().invoke(app, [*args, "--region", "ap-guangzhou", "--staging", f"cos://{BUCKET}/staging/"])
        assert result.exit_code == 1, result.output
        with _client(server.url) as client:
            assert list(client.iter_objects(BUCKET, "staging/")) == []


def test_in_place_with_the_cos_engine_stages_nothing(tmp_path, monkeypatch):
    """AILicenseRec reads each stored object itself: an in-place run uploads no copy anywhere
    (and so gets the emulator's replayed answers for the very objects)."""
    monkeypatch.setenv("COS_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("COS_SECRET_KEY", SECRET_KEY)
    monkeypatch.chdir(tmp_path)
    names = ["idcard-front-scan-0001.png", "license-scan-0007.png", "noncard-0012.jpg"]
    with _server(ci_engine="replay") as server:
        with _client(server.url) as client:
            for name in names:
                client.put_object(BUCKET, f"live/{name}", (SAMPLES / name).read_bytes())
                sidecar = (SAMPLES / f"{name}.ailicenserec.xml").read_bytes()
                client.put_object(BUCKET, f"live/{name}.ailicenserec.xml", sidecar)
        puts = count_puts(monkeypatch)
        live = f"cos://{BUCKET}/live/"
        result = CliRunner().invoke(
            app, ["run", live, live, "--in-place", "--endpoint", server.url, "--region", "ap-guangzhou"]
        )
        assert "2 redacted, 1 quarantined" in result.output, result.output
        assert sorted(puts) == sorted(
            ["live/idcard-front-scan-0001.png", "live/license-scan-0007.png"]
            + ["live.quarantine/noncard-0012.jpg", "live.quarantine/noncard-0012.jpg.reason.json"]
        )


class _Unavailable:
    """A COS client whose AILicenseRec is down for longer than the retries last."""

    def ai_license_rec(self, bucket: str, key: str, card_type: str) -> bytes:
        from redactor.cos.errors import CosRetryExhausted, SlowDownError

        raise CosRetryExhausted(SlowDownError(503, "SlowDown", "slow down", "rid"), 10)


def test_a_service_down_after_its_retries_leaves_the_image_failed_not_quarantined():
    from redactor.core.policy import load_policy
    from redactor.core.results import Decision, StoredObject
    from redactor.locators.cloud import CloudLocator, Staging
    from redactor.pipeline import redact_image

    data = (SAMPLES / "license-scan-0007.png").read_bytes()
    locator = CloudLocator(_Unavailable(), Staging(BUCKET, "staging/"))  # type: ignore[arg-type]
    outcome = redact_image(
        data, policy=load_policy("version: 1\n"), locator=locator, stored=StoredObject(BUCKET, "cards/a.png")
    )
    assert outcome.decision is Decision.FAILED and outcome.data is None
    assert "retried on the next run" in outcome.reasons[0]


def test_clearing_the_staging_prefix_deletes_only_staged_images():
    """A staging place set to a prefix that holds other files (by mistake: the source
    itself) loses nothing but redactor's own ``<32 hex>.png`` names."""
    from types import SimpleNamespace

    from redactor.locators.cloud import CloudLocator, Staging

    keys = ["st/" + "a" * 32 + ".png", "st/card.png", "st/sub/" + "b" * 32 + ".png", "st/" + "c" * 32 + ".jpg"]
    deleted: list[str] = []
    client = SimpleNamespace(
        iter_objects=lambda bucket, prefix: [SimpleNamespace(key=k) for k in keys if k.startswith(prefix)],
        delete_object=lambda bucket, key: deleted.append(key),
    )
    CloudLocator(client, Staging(BUCKET, "st/")).open()  # type: ignore[arg-type]
    assert deleted == ["st/" + "a" * 32 + ".png"]
