"""Kill -9 a COS-to-COS run at random moments, five times, then let it finish: the final
state is complete and correct (every object redacted or quarantined, once, masked)."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image

from redactor.cos.client import CosClient
from redactor.cos.config import CosConfig, Credentials
from redactor.emulator.server import spawn_emulator

from .test_cos_faults import _id_number_boxed, _small_card, _variant

BUCKET = "crash-1250000000"
SID, SKEY = "AKIDcrash000000000000000000000000000", "crash-secret-key-000000000000000"
COUNT = 600


def _start_emulator(data_dir) -> tuple[subprocess.Popen[str], str]:
    return spawn_emulator(data_dir, [BUCKET], SID, SKEY, "--ci-engine", "replay")


def test_killed_runs_resume_to_a_complete_correct_state(tmp_path):
    emulator, url = _start_emulator(tmp_path / "cos")
    try:
        card, sidecar = _small_card()
        noise = np.random.default_rng(5).integers(0, 255, (60, 90, 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(noise).save(buffer, "PNG")
        with CosClient(CosConfig(region="ap-guangzhou", endpoint=url), Credentials(SID, SKEY)) as client:
            for i in range(COUNT):
                key = f"in/{i:04d}.png"
                if i % 10 == 9:
                    client.put_object(BUCKET, key, _variant(buffer.getvalue(), i), content_type="image/png")
                else:
                    client.put_object(BUCKET, key, _variant(card, i), content_type="image/png")
                    client.put_object(BUCKET, key + ".ailicenserec.xml", sidecar)

            env = {
                **os.environ,
                "COS_SECRET_ID": SID,
                "COS_SECRET_KEY": SKEY,
                "COS_ENDPOINT": url,
                "COS_REGION": "ap-guangzhou",
            }
            command = [
                sys.executable,
                "-m",
                "redactor.cli",
                "run",
                f"cos://{BUCKET}/in/",
                f"cos://{BUCKET}/out/",
                "--report",
                str(tmp_path / "report.jsonl"),
                # resuming is what is tested; the second look (its own tests) would only slow
                # the runs between kills
                "--verify",
                "off",
            ]
            rng = random.Random(2024)
            progress = []
            for _ in range(5):
                run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                # kill once this run has written something (start-up time varies with the
                # machine's load), at a random moment after that
                before = progress[-1] if progress else 0
                deadline = time.monotonic() + 60
                while sum(1 for _ in client.iter_objects(BUCKET, "out/")) <= before and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.4))
                run.send_signal(signal.SIGKILL)
                run.wait()
                done = sum(1 for _ in client.iter_objects(BUCKET, "out/"))
                progress.append(done)
            # the kills landed mid-run: work advanced between kills but was not finished
            print("outputs after each kill:", progress)
            assert progress[-1] < COUNT - COUNT // 10 and progress == sorted(progress) and progress[0] > 0, progress
            final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
            assert final.returncode == 1, final.stderr  # the non-cards are quarantined
            counts = re.match(r"(\d+) files: .* (\d+) ignored", final.stderr)
            assert counts and int(counts[1]) - int(counts[2]) == COUNT, final.stderr  # sidecars: listed, ignored

            outputs = {o.key[len("out/") :] for o in client.iter_objects(BUCKET, "out/")}
            held = {o.key[len("out.quarantine/") :] for o in client.iter_objects(BUCKET, "out.quarantine/")}
            held = {k for k in held if not k.endswith(".json")}
            for i in range(COUNT):
                key = f"{i:04d}.png"
                assert (key in outputs) != (key in held), key
                if key in outputs:
                    data = client.get_object(BUCKET, f"out/{key}")
                    masked = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
                    assert _id_number_boxed(masked, sidecar), key
                    assert client.head_object(BUCKET, f"out/{key}")["metadata"]["redactor-policy"]
            assert len(held) == COUNT // 10
            assert not list(client.iter_objects(BUCKET, "redactor-staging/"))
    finally:
        emulator.kill()
        emulator.wait()
