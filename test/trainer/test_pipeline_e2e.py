"""`pipeline --preset test`: every stage end to end on CPU, the exported model checked in onnxruntime."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from model_fixtures import read_metrics

from trainer.cli import main
from trainer.export import load_model
from trainer.onnx_runtime import empty_past, ort_session, ort_step


def _check_model_dir(out, run):
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["format"] == "tinyfim-model-v1" and manifest["name"] == "test"
    tok = json.loads((out / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    n_tok = len(vocab) + sum(1 for t in tok["added_tokens"] if t["content"] not in vocab)
    assert manifest["architecture"]["vocab_size"] == n_tok
    assert manifest["architecture"]["parameters"] < 1_000_000
    assert manifest["prompts"]["tasks"]["output"]["template"] == "<|task_output|>{program}<|answer|>"
    assert manifest["evaluation"]["export"]["parity"]["ok"]
    assert set(manifest["evaluation"]["exact_match"]) >= {"fim_lines", "tinypy_output", "tinypy_line_count"}
    # parity of the shipped files, independently of export's own check: 40-token prefill + 16 cached steps
    model, _ = load_model(run, "best")
    sess = ort_session(out / "model.onnx")
    ids = torch.randint(0, model.cfg.vocab_size, (1, 56), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(ids)[0].numpy()
    logits, past = ort_step(sess, ids[:, :40].numpy(), empty_past(sess), 0)
    assert logits.shape == (1, 1, model.cfg.vocab_size)  # the graph returns the last position's logits only
    worst = np.abs(logits - ref[:, 39:40]).max()
    for t in range(40, 56):
        logits, past = ort_step(sess, ids[:, t:t + 1].numpy(), past, t)
        worst = max(worst, np.abs(logits - ref[:, t:t + 1]).max())
    assert worst <= 1e-4
    return manifest


def test_pipeline_short_run_then_skips_finished_stages(tmp_path, capsys):
    work, out = tmp_path / "work", tmp_path / "model"
    base = ["pipeline", "--preset", "test", "--workdir", str(work), "--model", str(out), "--tinypy-count", "140",
            "--threads", "1", "--eval-limit", "3"]
    assert main(base + ["--fresh", "--steps", "6"]) == 0
    _check_model_dir(out, work / "run")
    state = json.loads((work / "state.json").read_text())
    assert all(state[s]["hash"] for s in ("corpus", "tokenizer", "dataset", "train", "export", "evaluate"))
    capsys.readouterr()
    assert main(base + ["--steps", "6"]) == 0  # again, without --fresh: nothing to redo
    err = capsys.readouterr().err
    assert err.count("up to date, skipped") == 6
    # a changed training option redoes train and what follows, not the data stages (--out: the old name of --model)
    old = [x if x != "--model" else "--out" for x in base]
    assert main(old + ["--steps", "8"]) == 0
    err = capsys.readouterr().err
    assert err.count("up to date, skipped") == 3 and "[pipeline] train ..." in err
    assert "--out is deprecated" in err
    assert json.loads((out / "model.json").read_text())["training"]["steps"] == 8


@pytest.mark.slow
def test_pipeline_test_preset_learns_something(tmp_path, request):
    """The exact invocation of scripts/test-model.sh (about 1-2 minutes on 2 cores)."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")
    work, out = tmp_path / "work", tmp_path / "model"
    assert main(["pipeline", "--preset", "test", "--workdir", str(work), "--model", str(out), "--fresh"]) == 0
    _check_model_dir(out, work / "run")
    state = json.loads((work / "state.json").read_text())
    unigram = state["dataset"]["info"]["unigram_val_loss"]
    evals = [r for r in read_metrics(work / "run") if "val_loss" in r]
    assert evals[-1]["val_loss"] < unigram - 1.0, (evals[-1], unigram)


def test_fixture_model_from_test_script_learned_something():
    """scripts/test-model.sh runs the full `pipeline --preset test` before the suites; check what it made."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    work, out = root / "build" / "test-pipeline", root / "build" / "test-model"
    if not (out / "model.json").is_file():
        pytest.skip("build/test-model is missing: run `bash scripts/test-model.sh` (scripts/test.sh does)")
    _check_model_dir(out, work / "run")
    state = json.loads((work / "state.json").read_text())
    unigram = state["dataset"]["info"]["unigram_val_loss"]
    evals = [r for r in read_metrics(work / "run") if "val_loss" in r]
    assert evals[-1]["val_loss"] < unigram - 1.0, (evals[-1], unigram)
