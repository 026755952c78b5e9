"""`corpus add-dir`: provenance, filters on awkward files (non-UTF-8, binary, huge, symlinks, loops, FIFOs),
dedup, per-repository splits, idempotent re-runs, export, and the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fake_github import pyfile

from trainer.corpus import iter_files, stats, store
from trainer.corpus.ingest import Options
from trainer.corpus.localdir import add_dirs
from trainer.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
CRLF = pyfile(50).replace(b"\n", b"\r\n").replace(b"    return", b"\treturn  ")


def _tree(root: Path) -> Path:
    files = {
        "pkg/__init__.py": pyfile(1), "pkg/sub/mod.py": pyfile(2), "pkg/crlf.py": CRLF,
        "tool.py": pyfile(3), "other/a.py": pyfile(4),
        "zdup/same_bytes.py": pyfile(1),  # same bytes as pkg/__init__.py
        "zdup/same_text.py": pyfile(2).replace(b"\n", b"  \r\n"),  # differs only by line ends/trailing spaces
        "zdup/near.py": pyfile(3).replace(b"# offset", b"# moved", 1),
        "bad/latin1.py": pyfile(5) + "# caf\xe9\n".encode("latin-1"),
        "bad/binary.py": pyfile(6) + b"\0\0\0",
        "bad/huge.py": pyfile(7, funcs=3000), "bad/small.py": b"pass\n",
        "bad/minified.py": b"x=[" + b",".join(b"%d" % i for i in range(600)) + b"]\n",
        "bad/generated.py": b"# This file is auto-generated. Do not edit.\n" + pyfile(8),
        "notes.txt": pyfile(9), ".hidden/h.py": pyfile(10), "pkg/__pycache__/c.py": pyfile(11),
        "vendored/site-packages/lib.py": pyfile(12),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    os.symlink(root / "pkg/sub/mod.py", root / "pkg/link.py")  # symlinked file
    os.symlink(root, root / "pkg/loop")  # directory loop
    os.symlink("ping.py", root / "pong.py")  # file symlink loop
    os.symlink("pong.py", root / "ping.py")
    os.symlink("missing.py", root / "broken.py")
    os.mkfifo(root / "pkg/fifo.py")  # reading it would block forever
    return root


def _add(tmp_path, *roots, **opts):
    opts.setdefault("max_bytes", 50_000)
    return add_dirs(str(tmp_path / "c.sqlite"), [str(r) for r in roots], Options(**opts), progress=False)


def _rows(db):
    conn = sqlite3.connect(db)
    return {(repo, path): (status, reason) for repo, path, status, reason in conn.execute(
        "SELECT r.name, f.path, f.status, f.reason FROM files f JOIN repos r ON r.id = f.repo_id")}


def test_add_dir_filters_and_provenance(tmp_path):
    root = _tree(tmp_path / "proj")
    counts = _add(tmp_path, root, exclude=["site-packages"])
    rows = _rows(tmp_path / "c.sqlite")
    assert rows[("proj/pkg", "pkg/sub/mod.py")] == ("kept", None)
    assert rows[("proj/tool.py", "tool.py")] == ("kept", None)  # a top-level module is its own repository
    assert rows[("proj/zdup", "zdup/same_bytes.py")] == ("duplicate", "same_sha")
    assert rows[("proj/zdup", "zdup/same_text.py")] == ("duplicate", "same_text")
    assert rows[("proj/zdup", "zdup/near.py")] == ("duplicate", "near_dup")
    for name, reason in [("latin1", "not_utf8"), ("binary", "binary"), ("huge", "too_large"),
                         ("small", "too_small"), ("minified", "long_lines"), ("generated", "generated")]:
        assert rows[("proj/bad", f"bad/{name}.py")] == ("skipped", reason), name
    for link in ("pkg/link.py", "pong.py", "ping.py", "broken.py"):
        repo = "proj/pkg" if link.startswith("pkg") else f"proj/{link}"
        assert rows[(repo, link)] == ("skipped", "symlink"), link
    assert rows[("proj/pkg", "pkg/fifo.py")] == ("skipped", "not_regular")
    paths = {p for _, p in rows}
    assert not any(p.startswith((".hidden", "vendored")) or "__pycache__" in p or "loop" in p for p in paths)
    assert counts["kept"] == 5

    files = {f.path: f for f in iter_files(tmp_path / "c.sqlite")}
    assert files["pkg/crlf.py"].text == CRLF.decode()  # exact bytes: CRLF, tabs, trailing spaces
    assert files["pkg/crlf.py"].source == "local" and files["pkg/crlf.py"].license is None
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    assert conn.execute("SELECT root FROM repos WHERE name='proj/pkg'").fetchone()[0] == str(root.resolve())


def test_second_run_adds_nothing(tmp_path):
    root = _tree(tmp_path / "proj")
    _add(tmp_path, root)
    before = stats(tmp_path / "c.sqlite")
    counts = _add(tmp_path, root)
    assert set(counts) == {"already_recorded"}
    assert stats(tmp_path / "c.sqlite") == before


def test_site_packages_is_kept_unless_excluded(tmp_path):
    root = _tree(tmp_path / "proj")
    _add(tmp_path, root)
    assert ("proj/vendored", "vendored/site-packages/lib.py") in _rows(tmp_path / "c.sqlite")


def test_splits_are_per_repository(tmp_path):
    root = tmp_path / "many"
    for i in range(60):
        (root / f"p{i}").mkdir(parents=True)
        for j in range(3):
            (root / f"p{i}/m{j}.py").write_bytes(pyfile(1000 + 10 * i + j))
    _add(tmp_path, root, val_fraction=0.2, test_fraction=0.2)
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    per_repo = conn.execute("SELECT r.name, COUNT(DISTINCT r.split) FROM files f JOIN repos r ON r.id=f.repo_id "
                            "WHERE f.status='kept' GROUP BY r.name").fetchall()
    assert len(per_repo) == 60 and all(n == 1 for _, n in per_repo)
    s = stats(tmp_path / "c.sqlite")["splits"]
    assert all(s[k]["repositories"] >= 3 for k in ("train", "val", "test"))  # 12 expected in val and test
    assert sum(v["files"] for v in s.values()) == 180
    # the same repositories land in the same splits in a fresh database
    other = tmp_path / "other"
    other.mkdir()
    add_dirs(str(other / "c.sqlite"), [str(root)], Options(val_fraction=0.2, test_fraction=0.2), progress=False)
    assert {(f.repo, f.split) for f in iter_files(other / "c.sqlite")} == \
        {(f.repo, f.split) for f in iter_files(tmp_path / "c.sqlite")}


def test_shards_split_the_files_between_databases_and_agree_on_splits(tmp_path):
    root = tmp_path / "many"
    for i in range(20):
        (root / f"p{i}").mkdir(parents=True)
        for j in range(3):
            (root / f"p{i}/m{j}.py").write_bytes(pyfile(2000 + 10 * i + j))
    opts = Options(near_dup_threshold=0.0, val_fraction=0.2, test_fraction=0.2)
    add_dirs(str(tmp_path / "all.sqlite"), [str(root)], opts, progress=False)
    for k in range(3):
        add_dirs(str(tmp_path / f"s{k}.sqlite"), [str(root)], opts, progress=False, shard=(k, 3))
    parts = [{(f.repo, f.path, f.split) for f in iter_files(tmp_path / f"s{k}.sqlite")} for k in range(3)]
    assert all(parts) and sum(map(len, parts)) == len(set().union(*parts))  # disjoint, none empty
    assert set().union(*parts) == {(f.repo, f.path, f.split) for f in iter_files(tmp_path / "all.sqlite")}


def test_settings_are_fixed_per_database(tmp_path):
    root = _tree(tmp_path / "proj")
    _add(tmp_path, root)
    with pytest.raises(UserError, match="val_fraction"):
        _add(tmp_path, root, val_fraction=0.3)
    with pytest.raises(UserError, match="strip_comments"):
        _add(tmp_path, root, strip_comments=True)


def test_strip_comments_option(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    body = pyfile(70).decode()
    text = "#!/usr/bin/env python\n# header comment\nx = '# not a comment'  # trailing\n\tif x:  # c\n" + body
    (root / "m.py").write_text(text)
    _add(tmp_path, root, strip_comments=True)
    (f,) = iter_files(tmp_path / "c.sqlite")
    assert f.text.startswith("#!/usr/bin/env python\nx = '# not a comment'\n\tif x:\n")
    assert "# offset" not in f.text and '"""Module number 70."""' in f.text


def test_export_jsonl_and_cli(tmp_path):
    root = _tree(tmp_path / "proj")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = lambda *a: subprocess.run([sys.executable, "-m", "trainer", "corpus", *a], cwd=ROOT, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    db = str(tmp_path / "c.sqlite")
    r = run("add-dir", str(root), "--db", db, "--quiet", "--max-bytes", "50000", "--test-fraction", "0.5")
    assert r.returncode == 0, r.stderr
    r = run("stats", "--db", db, "--json")
    s = json.loads(r.stdout)
    assert s["files"] == 6 and s["skipped"]["symlink"] == 4  # site-packages included: no --exclude
    r = run("export", "--db", db, "--out", str(tmp_path / "out"), "--shard-files", "2")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for p in sorted((tmp_path / "out").glob("*.jsonl")) for line in p.open()]
    assert len(records) == 6 and all(set(x) == {"repo", "path", "text", "license", "sha", "split", "source"}
                                     for x in records)
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["files"] == {k: v["files"] for k, v in s["splits"].items()}
    assert not list((tmp_path / "out").glob("*.tmp"))
    r = run("add-dir", str(tmp_path / "nope"), "--db", db)
    assert r.returncode == 2 and r.stderr.startswith("error:") and "Traceback" not in r.stderr


def test_readers_see_only_committed_files_while_writing(tmp_path):
    root = _tree(tmp_path / "proj")
    _add(tmp_path, root)
    n = len(list(iter_files(tmp_path / "c.sqlite")))
    writer = sqlite3.connect(tmp_path / "c.sqlite")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO files (repo_id, path, status, text, bytes) VALUES (1, 'x.py', 'kept', 'x', 1)")
    assert len(list(iter_files(tmp_path / "c.sqlite"))) == n  # not blocked, and no uncommitted row
    writer.commit()
    assert len(list(iter_files(tmp_path / "c.sqlite"))) == n + 1


def test_one_writer_at_a_time(tmp_path):
    root = _tree(tmp_path / "proj")
    with store.writer_lock(tmp_path / "c.sqlite"), pytest.raises(UserError, match="another corpus command"):
        _add(tmp_path, root)
    _add(tmp_path, root)  # the lock went with its holder
