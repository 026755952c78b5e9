"""Secrets never reach the corpus: planted fake AWS keys, GitHub tokens, private-key blocks and high-entropy strings
in a local folder (and in a crawled repository) are skipped at ingestion, counted in `corpus stats`, and absent from
`corpus export` and from the dataset build. The fake secrets are built from pieces at run time, so this file holds
nothing a secret scanner would flag."""

from __future__ import annotations

import json
import random
import sqlite3

import numpy as np
import pytest
from fake_github import FakeGitHub, Repo, pyfile
from fake_secrets import ALNUM, planted, rand

from trainer import dataset as D
from trainer import tokenizer as T
from trainer.cli import main as cli
from trainer.corpus import github, iter_files, secrets, stats
from trainer.corpus.ingest import Options
from trainer.packed import PackedSplit

# Lines that look a little like secrets and are not: kept.
LOOKALIKES = (
    'import os\nDB_PASS = os.environ["DB_PASSWORD"]\n'
    'token = get_token(user)\n'
    'ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"\n'
    'RUN_ID = "123e4567-e89b-12d3-a456-426614174000"\n'
    'digest = hashlib.sha256(data).hexdigest()\n'
)


def _write_folder(root, secrets_at: dict[str, tuple[str, str]]) -> dict[str, str]:
    """One module per planted secret (ordinary code around it) plus clean modules; returns name -> text."""
    texts = {}
    for i, (kind, (_, lines)) in enumerate(secrets_at.items()):
        code = pyfile(100 + i).decode()
        texts[f"{kind}.py"] = code[: len(code) // 2] + lines + code[len(code) // 2:]
    for i in range(4):
        texts[f"clean_{i}.py"] = pyfile(200 + i).decode() + (LOOKALIKES if i == 0 else "")
    root.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")
    return texts


def _leaks(text: str, secrets_at) -> list[str]:
    return [kind for kind, (value, _) in secrets_at.items() if any(part in text for part in value.split("\n"))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("secrets")
    secrets_at = planted()
    texts = _write_folder(d / "src", secrets_at)
    db = str(d / "c.sqlite")
    assert cli(["corpus", "add-dir", str(d / "src"), "--db", db, "--quiet", "--min-bytes", "0",
                "--val-fraction", "0", "--test-fraction", "0"]) == 0
    return {"dir": d, "db": db, "secrets": secrets_at, "texts": texts}


def test_files_with_secrets_are_skipped_and_counted(corpus, capsys):
    s = stats(corpus["db"])
    assert s["skipped"].get("secret") == len(corpus["secrets"])
    assert s["files"] == 4  # the clean ones, the look-alikes included
    assert s["settings"][secrets.MARK].startswith("detect-secrets ")
    capsys.readouterr()
    assert cli(["corpus", "stats", "--db", corpus["db"]]) == 0
    assert f"secret {len(corpus['secrets'])}" in capsys.readouterr().out
    kept = {f.path for f in iter_files(corpus["db"])}
    assert kept == {f"clean_{i}.py" for i in range(4)}


def test_no_secret_reaches_export(corpus, capsys):
    out = corpus["dir"] / "export"
    assert cli(["corpus", "export", "--db", corpus["db"], "--out", str(out)]) == 0
    records = [json.loads(line) for shard in sorted(out.glob("*.jsonl")) for line in shard.read_text().splitlines()]
    assert {r["path"] for r in records} == {f"clean_{i}.py" for i in range(4)}
    for r in records:
        assert _leaks(r["text"], corpus["secrets"]) == []


def test_no_secret_reaches_the_dataset(corpus):
    out = corpus["dir"] / "ds"
    tok = T.train_tokenizer(corpus["texts"].values(), 400, corpus["dir"] / "tok.json")
    D.build_dataset(corpus["db"], tok, out, mix="code=1", context=128, fim_rate=0.0, eval_count=0, eval_fim_count=0)
    tokenizer = T.load_tokenizer(tok)
    ps = PackedSplit(out, "train")
    toks, _, _ = ps.rows(np.arange(len(ps)))
    text = "".join(T.decode(tokenizer, [int(i) for i in row if i != T.FIM_PAD]) for row in toks)
    assert "clean_" not in text and "def " in text  # the clean code is there
    assert _leaks(text, corpus["secrets"]) == []


def test_crawled_files_go_through_the_same_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    secrets_at = planted(seed=5)
    files = {f"{k}.py": pyfile(300 + i) + v[1].encode() for i, (k, v) in enumerate(secrets_at.items())}
    server = FakeGitHub([Repo("o/r", "2018-01-01T00:00:00Z", files={**files, "ok.py": pyfile(399)})])
    try:
        client = github.Client(server.url, None, sleep=lambda s: None)
        github.crawl(str(tmp_path / "g.sqlite"), client, Options(near_dup_threshold=0), created_from="2015-01-01",
                     created_to="2020-12-31", progress=False)
    finally:
        server.close()
    s = stats(tmp_path / "g.sqlite")
    assert s["skipped"].get("secret") == len(secrets_at) and s["files"] == 1


def test_scan_equals_the_library_line_by_line_scan(corpus):
    """The whole-text prefilter only saves time: the findings are exactly detect-secrets' own."""
    rng = random.Random(3)
    extra = [
        "x = 1  # pragma: allowlist secret\n" + corpus["secrets"]["github_token"][1],  # allowlisted on its line
        corpus["secrets"]["aws_secret"][1].replace("\n", "  # pragma: allowlist secret\n"),
        "\r\n".join(v[1] for v in corpus["secrets"].values()),  # CRLF line ends
        "caf\u00e9 = 1\n\u212aEY_PASSWORD = 'x" + rand(rng, ALNUM, 30) + "'\n",  # non-ASCII, Kelvin sign
        corpus["secrets"]["aws_access_key"][0] + "\n",  # at the very start, no quotes
    ]
    for text in [*corpus["texts"].values(), *extra]:
        fast = sorted(set(secrets.find_secrets(text, "m.py")))
        assert fast == sorted(set(secrets.find_secrets_slow(text, "m.py"))), text[:200]
    for kind, (_, lines) in corpus["secrets"].items():
        assert secrets.find_secrets(lines, "m.py", first_only=True), kind
    assert secrets.find_secrets(LOOKALIKES, "m.py") == []


def test_required_literals_read_from_the_regex():
    import re

    assert secrets.required_literals(re.compile(r"(ghp|gho)_[A-Za-z0-9_]{36}")) == ["gh"]
    assert secrets.required_literals(re.compile(r"OPEN (ONE|TWO) END")) == ["OPEN ONE END", "OPEN TWO END"]
    assert secrets.required_literals(re.compile(r"(?:Pass|password|token)\w*", re.I)) == ["pass", "token"]
    assert secrets.required_literals(re.compile(r"[a-z]{24}")) is None
    assert secrets.required_literals(re.compile(r"(?:key|)x[0-9]+")) == ["x"]  # an empty branch requires nothing


def test_a_database_from_before_the_scan_is_scanned(tmp_path):
    secrets_at = planted(seed=9)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text(pyfile(1).decode(), encoding="utf-8")
    db = str(tmp_path / "old.sqlite")
    assert cli(["corpus", "add-dir", str(src), "--db", db, "--quiet", "--val-fraction", "0",
                "--test-fraction", "0"]) == 0
    # What an older trainer left: a kept file holding a secret, and no scan mark.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE files SET text = text || ? WHERE path = 'a.py'", (secrets_at["github_token"][1],))
        conn.execute("DELETE FROM meta WHERE key = ?", (secrets.MARK,))
    conn.close()
    assert list(iter_files(db)) == []  # readers leave it out until then
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "b.py").write_text(pyfile(2).decode(), encoding="utf-8")
    assert cli(["corpus", "add-dir", str(tmp_path / "more"), "--db", db, "--quiet", "--val-fraction", "0",
                "--test-fraction", "0"]) == 0
    s = stats(db)
    assert s["skipped"].get("secret") == 1 and s["files"] == 1 and secrets.MARK in s["settings"]
    assert [f.path for f in iter_files(db)] == ["b.py"]
