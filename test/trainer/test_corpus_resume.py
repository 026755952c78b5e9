"""Killing a real crawl subprocess (SIGKILL, SIGINT, at random moments) and running it again loses nothing and
fetches no blob twice; the token is sent but never printed or stored."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_github import FakeGitHub, Repo, blob_sha, pyfile

from trainer.corpus import iter_files, stats

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_s3cretT0kenValue"


def _repos(n_repos=4, n_files=5):
    return [Repo(f"own{r}/proj{r}", f"2016-0{r + 1}-01T00:00:00Z", stars=500 - r, files={
        f"src/m{i}.py": pyfile(100 * r + i) for i in range(n_files)}) for r in range(n_repos)]


@pytest.fixture(autouse=True)
def _interruptible_children():
    """A shell starts background jobs (CI under nohup, `cmd &`) with SIGINT ignored, and children inherit that:
    a crawl started from there rightly ignores Ctrl-C. Give the crawls a default SIGINT, as in a terminal."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # caught here => default after exec
    yield
    signal.signal(signal.SIGINT, old)


def _start(server, db, **popen):
    env = dict(os.environ, GITHUB_TOKEN=TOKEN, NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "trainer", "corpus", "github", "--db", str(db), "--api-url", server.url,
           "--created-from", "2015-01-01", "--created-to", "2020-12-31", "--max-wait", "0.01", "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)


def _finish(server, db):
    proc = _start(server, db)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out + err


def _check_complete(server, db, repos):
    expected = {(r.full_name, p): d for r in repos for p, d in r.files.items()}
    kept = {(f.repo, f.path): f.text.encode() for f in iter_files(db)}
    assert kept == expected  # nothing lost
    s = stats(db)
    assert s["pending"] == s["failed"] == 0
    return server.blob_fetches()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_crawl_resumes_without_refetching(tmp_path, sig):
    repos = _repos()
    server = FakeGitHub(repos)
    server.stall_blob_at = 9  # the 9th blob request hangs: the crawl is killed while waiting for it
    db = tmp_path / "c.sqlite"
    try:
        proc = _start(server, db)
        assert server.stalled.wait(60), "the crawl never reached the 9th blob"
        proc.send_signal(sig)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the crawl did not stop on the signal")
        if sig == signal.SIGINT:
            assert proc.returncode == 130 and "run the same command again" in err
        else:
            assert proc.returncode == -signal.SIGKILL
        server.release.set()
        assert 0 < len(server.blob_fetches()) < 20  # really interrupted half-way
        server.stall_blob_at = None
        log = _finish(server, db)
        fetched = _check_complete(server, db, repos)
    finally:
        server.close()
    assert len(fetched) == 20 and set(fetched.values()) == {1}  # every blob fetched exactly once over both runs
    assert set(server.auth) == {f"Bearer {TOKEN}"}
    assert TOKEN not in log and TOKEN not in err
    for f in tmp_path.iterdir():  # database, WAL: the token is stored nowhere
        assert TOKEN.encode() not in f.read_bytes()


def test_random_kills_lose_nothing(tmp_path):
    repos = _repos(n_repos=5, n_files=6)
    server = FakeGitHub(repos, blob_delay=0.02)
    db, kills, rng = tmp_path / "c.sqlite", 0, random.Random(1)
    try:
        for _ in range(3):
            proc = _start(server, db)
            target = sum(server.blob_fetches().values()) + rng.randint(1, 8)  # kill after a few more blobs
            while proc.poll() is None and sum(server.blob_fetches().values()) < target:
                time.sleep(rng.uniform(0, 0.01))
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.communicate(timeout=60)
        assert kills == 3 and len(server.blob_fetches()) < 30  # each kill landed mid-crawl
        _finish(server, db)
        fetched = _check_complete(server, db, repos)
    finally:
        server.close()
    assert set(fetched) == {blob_sha(d) for r in repos for d in r.files.values()}
    # a blob can be fetched twice only if a kill lands between its response and the commit right after it
    assert sum(fetched.values()) - len(fetched) <= kills
