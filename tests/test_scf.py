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
def client_two():
    store = Store()
    store.create_bucket(BUCKET)
    store.create_bucket(f"otherpic-{APPID}")
    app = EmulatorApp(store, EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, ci_engine="replay"))
    with EmulatorServer(app) as server:
        cos = CosClient(CosConfig(region="ap-guangzhou", endpoint=server.url), Credentials(SECRET_ID, SECRET_KEY))
        with cos:
            yield cos


@pytest.fixture
def client():
    store = Store()
    store.create_bucket(BUCKET)
    app = EmulatorApp(store, EmulatorConfig(credentials={SECRET_ID: SECRET_KEY}, ci_engine="replay"))
    with EmulatorServer(app) as server:
        cos = CosClient(CosConfig(region="ap-guangzhou", endpoint=server.url), Credentials(SECRET_ID, SECRET_KEY))
        with cos:
            yield cos


ENV = {"REDACTOR_DST": f"cos://{BUCKET}/redacted/", "REDACTOR_STAMP_KEY": "scf tests: not a real secret"}
OTHER = f"otherpic-{APPID}"


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
    (removed,) = handle(with_key("uploads/back.jpg", "cos:ObjectRemove:Delete"), ENV, client)
    assert removed["decision"] == "skipped" and "not an upload event" in removed["reasons"][0]


def _upload(client, bucket: str, key: str, sample: str = "idcard-front-scan-0001.png", **kw) -> bytes:
    data = (SAMPLES / sample).read_bytes()
    client.put_object(bucket, key, data, **kw)
    client.put_object(bucket, key + ".ailicenserec.xml", (SAMPLES / f"{sample}.ailicenserec.xml").read_bytes())
    return data


def _in_bucket(bucket_name: str, key: str) -> dict:
    event = with_key(key)
    event["Records"][0]["cos"]["cosBucket"]["name"] = bucket_name
    event["Records"][0]["cos"]["cosObject"]["key"] = f"/{APPID}/{bucket_name}/{key}"
    return event


def test_one_bad_record_does_not_drop_the_others(client):
    _upload(client, BUCKET, "uploads/card.png")
    good = EVENT["Records"][0]
    no_cos = {"event": good["event"]}
    no_appid = copy.deepcopy(good)
    del no_appid["cos"]["cosBucket"]["appid"]
    huge = copy.deepcopy(good)
    huge["cos"]["cosObject"]["key"] = f"/{APPID}/testpic/" + "k" * 1_000_000 + ".png"
    rows = handle({"Records": [no_cos, "a string", no_appid, huge, good]}, ENV, client)
    assert [r["decision"] for r in rows] == ["refused", "refused", "refused", "refused", "redacted"]
    assert all("malformed trigger record" in r["reasons"][0] for r in rows[:4])
    assert max(len(str(r)) for r in rows[:4]) < 400  # the 1 MB key is not echoed back


@pytest.mark.parametrize("event", [None, {"Records": "uploads/card.png"}, [], "event"])
def test_malformed_events_are_one_clear_error(event, monkeypatch):
    from redactor.scf import main_handler

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    answer = main_handler(event)
    assert set(answer) == {"error"} and "Traceback" not in answer["error"]


def test_a_percent_encoded_key_does_not_get_past_the_self_trigger_guard(client):
    data = _upload(client, BUCKET, "redacted.quarantine/q.png")
    (row,) = handle(with_key("redacted.quarantine%2Fq.png"), ENV, client)
    assert row["decision"] == "skipped" and row["reasons"] == ["written by redactor itself"]
    assert client.get_object(BUCKET, "redacted.quarantine/q.png") == data
    assert not list(client.iter_objects(BUCKET, "redacted/"))


def test_only_keys_below_the_source_prefix_are_read(client):
    _upload(client, BUCKET, "uploads/card.png")
    _upload(client, BUCKET, "private/card.png")
    env = {**ENV, "REDACTOR_SOURCE": f"cos://{BUCKET}/uploads/"}
    (inside,) = handle(with_key("uploads/card.png"), env, client)
    (outside,) = handle(with_key("private/card.png"), env, client)
    assert inside["decision"] == "redacted" and client.head_object(BUCKET, "redacted/card.png")
    assert outside["decision"] == "skipped" and outside["reasons"] == ["outside REDACTOR_SOURCE"]
    assert [o.key for o in client.iter_objects(BUCKET, "redacted/")] == ["redacted/card.png"]


def test_without_sources_a_second_bucket_is_refused_not_overwritten(client_two):
    client = client_two
    _upload(client, BUCKET, "uploads/card.png")
    _upload(client, OTHER, "uploads/card.png", "license-scan-0007.png")
    (a,) = handle(with_key("uploads/card.png"), ENV, client)
    written = client.get_object(BUCKET, "redacted/uploads/card.png")
    (b,) = handle(_in_bucket("otherpic", "uploads/card.png"), ENV, client)
    assert a["decision"] == "redacted" and b["decision"] == "failed"
    assert "another source" in b["reasons"][0]
    assert client.get_object(BUCKET, "redacted/uploads/card.png") == written
    env = {**ENV, "REDACTOR_SOURCE": f"cos://{BUCKET}/uploads/,cos://{OTHER}/uploads/"}
    (a2,) = handle(with_key("uploads/card.png"), env, client)
    (b2,) = handle(_in_bucket("otherpic", "uploads/card.png"), env, client)
    assert a2["decision"] == b2["decision"] == "redacted"
    one = client.get_object(BUCKET, f"redacted/{BUCKET}/uploads/card.png")
    two = client.get_object(BUCKET, f"redacted/{OTHER}/uploads/card.png")
    assert one != two


def test_a_forged_stamp_does_not_spare_an_upload(client):
    data = (SAMPLES / "idcard-front-scan-0001.png").read_bytes()
    _upload(client, BUCKET, "uploads/card.png")
    (done,) = handle(EVENT, ENV, client)
    genuine_stamp = client.head_object(BUCKET, "redacted/uploads/card.png")["metadata"]
    # an unmasked upload carrying a copy of a genuine stamp, and one with the public policy hash
    client.put_object(BUCKET, "uploads/forged.png", data, metadata=genuine_stamp)
    client.put_object(
        BUCKET,
        "uploads/forged.png.ailicenserec.xml",
        (SAMPLES / "idcard-front-scan-0001.png.ailicenserec.xml").read_bytes(),
    )
    (forged,) = handle(with_key("uploads/forged.png"), ENV, client)
    assert done["decision"] == "redacted" and forged["decision"] == "redacted"
    assert client.get_object(BUCKET, "redacted/uploads/forged.png") != data


def test_the_event_is_retried_when_a_record_failed_for_a_curable_reason(monkeypatch):
    import redactor.scf as scf

    rows = [
        {"source": "a.png", "decision": "redacted", "reasons": []},
        {"source": "b.png", "decision": "failed", "reasons": ["locator unavailable, retried on the next run: x"]},
        {"source": "c.png", "decision": "failed", "reasons": [scf.REFUSE_REASON]},
    ]
    assert scf.retry_needed(rows) == 1
    monkeypatch.setattr(scf, "handle", lambda event: rows)
    with pytest.raises(scf.EventRetry, match="1 of 3 records"):
        scf.main_handler(EVENT)
    monkeypatch.setattr(scf, "handle", lambda event: rows[::2])
    assert scf.main_handler(EVENT) == {"records": rows[::2]}
