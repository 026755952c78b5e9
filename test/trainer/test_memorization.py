"""`trainer memorization`: long completions found verbatim in the training split of a real corpus database."""

import json

from trainer.cli import main as cli


def _corpus(tmp_path):
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    body = "".join(f"def handler_{i}(request, response):\n    return response.write(request.body[{i}:])\n\n"
                   for i in range(40))
    (root / "pkg" / "server.py").write_text(body, encoding="utf-8")
    db = str(tmp_path / "c.sqlite")
    assert cli(["corpus", "add-dir", str(root), "--db", db, "--quiet", "--val-fraction", "0",
                "--test-fraction", "0"]) == 0
    return db


def test_counts_long_verbatim_completions_only(tmp_path, capsys):
    db = _corpus(tmp_path)
    capsys.readouterr()  # add-dir's summary
    copied = "def handler_7(request, response):\n    return response.write(request.body[7:])"
    rows = [
        {"completion": copied, "reference": "something else"},                       # long, verbatim
        {"completion": "    return response.write(request.body[3:])\n", "reference": "x"},  # < 50 chars stripped
        {"completion": "def handler_7(request, response):\n    return response.close()  # not in the corpus",
         "reference": "y"},                                                            # long, novel
        {"completion": copied, "reference": copied},                                   # verbatim but = reference
        {"output": "1", "reference_output": "1"},                                      # trace rows are ignored
    ]
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert cli(["memorization", "--predictions", str(preds), "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["completions"] == 4 and report["long"] == 3
    assert report["verbatim"] == 2 and abs(report["verbatim_share"] - 2 / 3) < 1e-9
    assert report["verbatim_not_reference"] == 1
    # nothing searched in a split that holds no files
    assert cli(["memorization", "--predictions", str(preds), "--db", db, "--split", "test", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verbatim"] == 0


def test_clear_errors(tmp_path, capsys):
    db = _corpus(tmp_path)
    assert cli(["memorization", "--predictions", str(tmp_path / "missing.jsonl"), "--db", db]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "x"}\n{oops\n', encoding="utf-8")
    assert cli(["memorization", "--predictions", str(bad), "--db", db]) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err


def test_reports_secret_shaped_completions_by_place_not_text(tmp_path, capsys):
    from fake_secrets import planted

    db = _corpus(tmp_path)
    fake = planted(seed=11)
    rows = [
        {"completion": fake["github_token"][1], "reference": "x"},  # short: still counted
        {"completion": "def f(x):\n    return x + 1\n", "reference": "y"},
        {"completion": "headers = {}\n" + fake["private_key"][1], "reference": "z"},
        {"completion": "token = os.environ['TOKEN']\n", "reference": "w"},  # a look-alike, not a secret
    ]
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    capsys.readouterr()
    assert cli(["memorization", "--predictions", str(preds), "--db", db, "--json"]) == 0
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["secret_shaped"] == 2
    assert set(report["secret_kinds"]) >= {"GitHub Token", "Private Key"}
    assert {f["at"] for f in report["secret_findings"]} == {f"{preds}:1", f"{preds}:3"}
    assert {f["line"] for f in report["secret_findings"] if f["at"].endswith(":3")} >= {2}
    assert fake["github_token"][0] not in out  # the report never repeats a secret
    assert cli(["memorization", "--predictions", str(preds), "--db", db]) == 0
    assert "2 of 4 completions hold secret-shaped strings (" in capsys.readouterr().out
