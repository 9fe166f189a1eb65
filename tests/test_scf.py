"""The SCF handler with recorded COS trigger event shapes, against the emulator."""

from __future__ import annotations

import copy

import pytest

from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Store
from redactor.scf import handle, object_of

from .conftest import SAMPLES

APPID = "1253970026"
BUCKET = f"testpic-{APPID}"
SECRET_ID = "AKIDscf0000000000000000000000000000"
SECRET_KEY = "scf-secret-key-000000000000000000"

# The event shape of reference section 5 (serverless docs / scf-go-lib), with a newer cosBucket.
EVENT = {
    "Records": [
        {
            "cos": {
                "cosSchemaVersion": "1.0",
                "cosObject": {
                    "url": f"http://{BUCKET}.cos.ap-guangzhou.myqcloud.com/uploads/card.png",
                    "meta": {"x-cos-request-id": "NWMxOWY4MGFfMjViMjU4NjRfMTUyMV8yNzhhZjM=", "Content-Type": ""},
                    "vid": "",
                    "key": f"/{APPID}/testpic/uploads/card.png",
                    "size": 1029,
                },
                "cosBucket": {"region": "gz", "name": "testpic", "appid": APPID, "s3Region": "ap-guangzhou"},
                "cosNotificationId": "unknown",
            },
            "event": {
                "eventName": "cos:ObjectCreated:Put",
                "eventVersion": "1.0",
                "eventTime": 1545205770,
                "eventSource": "qcs::cos",
                "requestParameters": {"requestSourceIP": "192.0.2.1", "requestHeaders": {"Authorization": "x"}},
                "eventQueue": "qcs:0:lambda:gz:appid/1253970026:default.printevent.$LATEST",
                "reservedInfo": "",
                "reqid": 179398952,
            },
        }
    ]
}


def with_key(key: str, event_name: str = "cos:ObjectCreated:Put") -> dict:
    event = copy.deepcopy(EVENT)
    event["Records"][0]["cos"]["cosObject"]["key"] = f"/{APPID}/testpic/{key}"
    event["Records"][0]["event"]["eventName"] = event_name
    return event


@pytest.fixture
def client():
    store = Store()
    store.create_bucket(BUCKET)
    app = EmulatorApp(store, EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, ci_engine="replay"))
    with EmulatorServer(app) as server:
        cos = CosClient(CosConfig(region="ap-guangzhou", endpoint=server.url), Credentials(SECRET_ID, SECRET_KEY))
        with cos:
            yield cos


ENV = {"REDACTOR_DST": f"cos://{BUCKET}/redacted/"}


def test_event_decoding():
    assert object_of(EVENT["Records"][0]) == (BUCKET, "uploads/card.png", "ap-guangzhou")


def test_upload_is_redacted_to_the_destination(client):
    data = (SAMPLES / "idcard-front-scan-0001.png").read_bytes()
    client.put_object(BUCKET, "uploads/card.png", data)
    client.put_object(
        BUCKET,
        "uploads/card.png.ailicenserec.xml",
        (SAMPLES / "idcard-front-scan-0001.png.ailicenserec.xml").read_bytes(),
    )
    (record,) = handle(EVENT, ENV, client)
    assert record["decision"] == "redacted", record
    head = client.head_object(BUCKET, "redacted/uploads/card.png")
    assert head["metadata"]["redactor-policy"]
    assert client.get_object(BUCKET, "redacted/uploads/card.png") != data
    assert "detected_text" not in str(record)


def test_doubt_goes_to_quarantine_and_outputs_never_retrigger(client):
    client.put_object(BUCKET, "uploads/back.jpg", (SAMPLES / "idcard-back-photo-0011.jpg").read_bytes())
    client.put_object(
        BUCKET,
        "uploads/back.jpg.ailicenserec.xml",
        (SAMPLES / "idcard-back-photo-0011.jpg.ailicenserec.xml").read_bytes(),
    )
    (record,) = handle(with_key("uploads/back.jpg"), ENV, client)
    assert record["decision"] == "quarantined"
    assert client.head_object(BUCKET, "redacted.quarantine/uploads/back.jpg")
    for key in ("redacted/uploads/card.png", "redacted.quarantine/uploads/back.jpg"):
        (again,) = handle(with_key(key), ENV, client)
        assert again["decision"] == "skipped"
    (removed,) = handle(with_key("uploads/back.jpg", "cos:ObjectRemove:Delete"), ENV, client) or [None]
    assert removed is None
