"""A real Label Studio server on localhost: our tasks in through the SDK, annotations through the API, the export back.

Label Studio is installed from PyPI into a virtual environment of its own (its pins clash
with the project's): ``$NAZAR_LABEL_STUDIO`` if set, else ``$NAZAR_CACHE/ls-venv`` or
``~/.cache/nazar/ls-venv``, created on first use (about a minute). The test starts the server
on a free port with a temporary data directory and stops it afterwards. It is skipped only
when Label Studio cannot be installed; a server that installs but fails is a failure.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import read_jsonl, write_jsonl
from pipeline.cli import main
from pipeline.schema import FIELDS, LABELS

pytestmark = pytest.mark.slow

LABEL_STUDIO = "label-studio==1.23.2"
EMAIL, PASSWORD = "admin@nazar.local", "nazar-test-1"


def _venv() -> Path:
    if os.environ.get("NAZAR_LABEL_STUDIO"):
        return Path(os.environ["NAZAR_LABEL_STUDIO"])
    cache = Path(os.environ.get("NAZAR_CACHE") or Path.home() / ".cache" / "nazar")
    return cache / "ls-venv"


def _install(venv: Path) -> Path:
    """The venv's python with Label Studio importable; installs it there first when missing."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import label_studio, label_studio_sdk"]
    if python.exists() and subprocess.run(probe, capture_output=True, timeout=120).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        res = subprocess.run([str(python), "-m", "pip", "install", "--quiet", LABEL_STUDIO],
                             capture_output=True, text=True, timeout=1500)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot install {LABEL_STUDIO} into {venv}: {exc}")
    if res.returncode != 0 or subprocess.run(probe, capture_output=True, timeout=120).returncode != 0:
        pytest.skip(f"cannot install {LABEL_STUDIO} into {venv}: {(res.stderr or res.stdout)[-800:]}")
    return python


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, python: Path, data_dir: Path) -> None:
        self.python = python
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(20)
        self.log_path = data_dir / "server.log"
        env = dict(os.environ, LABEL_STUDIO_DATA_DIR=str(data_dir / "data"), DJANGO_DEBUG="false",
                   LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
                   COLLECT_ANALYTICS="false")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(python.parent / "label-studio"), "start", "--no-browser", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(data_dir / "data"), "--username", EMAIL,
             "--password", PASSWORD, "--user-token", self.token],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def log_tail(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def wait(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"Label Studio exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(1)
        pytest.fail(f"Label Studio did not answer on {self.url}/health in {timeout:.0f} s:\n{self.log_tail()}")

    def enable_tokens(self) -> None:
        """Turn on the API tokens (off by default since 1.18) as the admin would, through a browser session."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(self.url + "/user/login/", timeout=30).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "email": EMAIL, "password": PASSWORD}).encode()
        headers = {"X-CSRFToken": csrf, "Referer": self.url + "/user/login/"}
        opener.open(urllib.request.Request(self.url + "/user/login/", data=form, headers=headers), timeout=30).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        body = json.dumps({"api_tokens_enabled": True, "legacy_api_tokens_enabled": True}).encode()
        req = urllib.request.Request(self.url + "/api/jwt/settings", data=body, method="POST",
                                     headers={"X-CSRFToken": csrf, "Referer": self.url + "/",
                                              "Content-Type": "application/json"})
        opener.open(req, timeout=30).read()

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    python = _install(_venv())
    server = Server(python, tmp_path_factory.mktemp("label-studio"))
    try:
        server.wait()
        server.enable_tokens()
        yield server
    finally:
        server.stop()


# Runs in Label Studio's environment: the SDK creates the project, imports the tasks, a second
# annotator is made, annotations are submitted through the API, the project is exported.
SDK_SCRIPT = r'''
import json, sys
from label_studio_sdk import LabelStudio

args = json.load(open(sys.argv[1], encoding="utf-8"))
ls = LabelStudio(base_url=args["url"], api_key=args["token"])
project = ls.projects.create(title="nazar batch", label_config=open(args["config"], encoding="utf-8").read())
ls.projects.import_tasks(id=project.id, request=json.load(open(args["tasks"], encoding="utf-8")))
tasks = {t.data["id"]: t for t in ls.tasks.list(project=project.id)}
me = ls.users.whoami()
other = ls.users.create(username="bob", email="bob@nazar.local", first_name="Bob", password="nazar-test-2")
users = {"admin": me.id, "bob": other.id}
for a in args["annotations"]:
    result = [{"from_name": f, "to_name": "text", "type": "choices", "value": {"choices": [v]}}
              for f, v in a["labels"].items()]
    if a.get("note"):
        result.append({"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [a["note"]]}})
    ls.annotations.create(id=tasks[a["id"]].id, result=result, completed_by=users[a["by"]],
                          was_cancelled=a.get("cancelled", False))
data = b"".join(ls.projects.exports.download_sync(id=project.id, export_type="JSON", download_all_tasks=True))
open(args["out"], "wb").write(data)
print(json.dumps({"project": project.id, "tasks": len(tasks), "users": users}))
'''


def test_label_studio_round_trip(label_studio, tmp_path, capsys):
    recs = [{"id": f"r{i}", "text": t, "url": f"https://news.example/{i}"} for i, t in enumerate([
        "پیام‌رسان داخلی سروش خیلی کند است، تلگرام بهتر بود",
        "ایتا را نصب کردم، راضی‌ام",
        "فیلترشکن هم دیگر جواب نمی‌دهد",
        "بله و روبیکا هر دو جاسوس‌افزارند",
        "تلگرام را فیلتر کنید، مهم نیست",
        "خبر خوبی بود، ممنون",
    ])]
    for r in recs:
        r["predicted"] = {"stance_domestic": "NONE", "stance_telegram": "NONE", "sentiment": "NEUTRAL"}
    batch = write_jsonl(tmp_path / "batch.jsonl", recs)
    tasks = tmp_path / "tasks.json"
    assert main(["annotate", "export", str(batch), "-o", str(tasks)]) == 0

    labels = [dict(zip(FIELDS, (LABELS["stance_domestic"][i % 3], LABELS["stance_telegram"][(i + 1) % 3],
                                LABELS["sentiment"][(i + 2) % 3]))) for i in range(len(recs))]
    other = next(x for x in LABELS["sentiment"] if x != labels[1]["sentiment"])  # bob disagrees on r1
    annotations = [{"id": r["id"], "by": "admin", "labels": lab} for r, lab in zip(recs[:5], labels)]
    annotations[1]["note"] = "کنایه است؟"
    annotations += [{"id": "r0", "by": "bob", "labels": labels[0]},
                    {"id": "r1", "by": "bob", "labels": dict(labels[1], sentiment=other)},
                    {"id": "r2", "by": "bob", "labels": labels[2], "cancelled": True}]
    args = tmp_path / "args.json"
    export = tmp_path / "export.json"
    args.write_text(json.dumps({"url": label_studio.url, "token": label_studio.token, "tasks": str(tasks),
                                "config": str(tmp_path / "tasks.label_config.xml"), "out": str(export),
                                "annotations": annotations}, ensure_ascii=False), encoding="utf-8")
    script = tmp_path / "sdk.py"
    script.write_text(SDK_SCRIPT, encoding="utf-8")
    res = subprocess.run([str(label_studio.python), str(script), str(args)], capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, f"{res.stderr[-3000:]}\nserver log:\n{label_studio.log_tail()}"
    made = json.loads(res.stdout.strip().splitlines()[-1])
    assert made["tasks"] == len(recs)

    out = tmp_path / "labels.jsonl"
    # the export names users by id only
    assert main(["annotate", "import", str(export), "-o", str(out), "--batch", str(batch)]) == 0
    assert {p.name for p in tmp_path.glob("labels.user*.jsonl")} == \
        {f"labels.user{made['users']['admin']}.jsonl", f"labels.user{made['users']['bob']}.jsonl"}
    assert main(["annotate", "import", str(export), "-o", str(out), "--batch", str(batch), "--force",
                 "--name", f"{made['users']['admin']}=admin@nazar.local",
                 "--name", f"{made['users']['bob']}=bob@nazar.local"]) == 0
    admin = read_jsonl(tmp_path / "labels.admin_nazar.local.jsonl")
    bob = read_jsonl(tmp_path / "labels.bob_nazar.local.jsonl")
    assert {r["id"]: {f: r[f] for f in FIELDS} for r in admin} == \
        {r["id"]: lab for r, lab in zip(recs[:5], labels)}
    assert {r["id"]: {f: r[f] for f in FIELDS} for r in bob} == \
        {"r0": labels[0], "r1": dict(labels[1], sentiment=other)}
    by_id = {r["id"]: r for r in admin}
    assert by_id["r1"]["note"] == "کنایه است؟"
    assert by_id["r0"]["text"] == recs[0]["text"] and by_id["r0"]["url"] == recs[0]["url"]
    rejects = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert sorted((r["id"], r["reason"]) for r in rejects) == [("r2", "skipped by the annotator"),
                                                               ("r5", "no annotation")]
    # and the two annotators' files merge, with their agreement
    gold = tmp_path / "gold_new.jsonl"
    assert main(["annotate", "merge", str(tmp_path / "labels.admin_nazar.local.jsonl"),
                 str(tmp_path / "labels.bob_nazar.local.jsonl"), "-o", str(gold), "--bootstrap", "50"]) == 0
    assert [r["id"] for r in read_jsonl(gold)] == ["r0"]
    capsys.readouterr()
