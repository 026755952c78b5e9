"""ONNX export: contract names, dynamic axes, empty past, parity with PyTorch, int8, model.json."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from model_fixtures import preset, write_dataset

from trainer.contract import io_names
from trainer.errors import UserError
from trainer.export import export_run, greedy_ids, load_model
from trainer.model import greedy
from trainer.onnx_runtime import empty_past, ort_greedy, ort_session, ort_step
from trainer.tokenizer import SPECIAL_TOKENS, file_sha256, train_tokenizer
from trainer.train import train

TEXT = "def add(a, b):\n    return a + b\n\nclass Point:\n    x = 1\n    y = 2\n" * 20


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    tok = train_tokenizer([TEXT], 300, d / "tokenizer.json")
    from tokenizers import Tokenizer

    V = Tokenizer.from_file(str(tok)).get_vocab_size()
    rng = np.random.default_rng(0)
    ds = write_dataset(d / "ds", {"train": rng.integers(0, V, (16, 33)), "val": rng.integers(0, V, (4, 33))}, V)
    meta = json.loads((ds / "meta.json").read_text())
    meta["special_tokens"] = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    meta["prompts"] = {"fim": {"psm": "<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"}}
    (ds / "meta.json").write_text(json.dumps(meta))
    train(preset(steps=4), ds, d / "run", tokenizer=str(tok), tensorboard=False, progress=False)
    return d, V


def test_export_contract_parity_and_manifest(trained_run, tmp_path):
    d, V = trained_run
    result = export_run(d / "run", tmp_path / "m", checkpoint="last")
    p = result["parity"]
    assert p["ok"] and p["prefill_max_abs"] <= 1e-4 and p["decode_max_abs"] <= 1e-4 and p["steps"] == 16
    proto = onnx.load(str(tmp_path / "m" / "model.onnx"))
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version >= 17
    model, _ = load_model(d / "run", "last")
    n_layer = model.cfg.n_layer
    ins, outs = io_names(n_layer)
    assert [i.name for i in proto.graph.input] == ins and [o.name for o in proto.graph.output] == outs
    assert ins[3] == "past_key_values.0.key" and outs[1] == "present.0.key"
    dims = {i.name: [x.dim_param or x.dim_value for x in i.type.tensor_type.shape.dim] for i in proto.graph.input}
    assert isinstance(dims["input_ids"][0], str) and isinstance(dims["input_ids"][1], str)
    assert isinstance(dims["past_key_values.0.key"][2], str)  # dynamic past
    logits_dim = proto.graph.output[0].type.tensor_type.shape.dim[2].dim_value
    assert logits_dim == V  # vocab: tokenizer == embedding == ONNX logits
    # the embedding is stored once (tied head)
    assert sum(1 for i in proto.graph.initializer if V in i.dims) == 1

    manifest = json.loads((tmp_path / "m" / "model.json").read_text())
    assert manifest["format"] == "tinyfim-model-v1"
    assert manifest["architecture"]["vocab_size"] == V
    assert manifest["architecture"]["n_kv_head"] == model.cfg.n_kv_head
    assert manifest["architecture"]["head_dim"] == model.cfg.head_dim
    assert manifest["onnx"]["inputs"] == ins and manifest["onnx"]["outputs"] == outs
    assert manifest["special_tokens"]["<|fim_pad|>"] == 4
    assert manifest["prompts"]["fim"]["psm"].startswith("<|fim_prefix|>")
    for f in ("model.onnx", "tokenizer.json"):
        assert manifest["files"][f]["sha256"] == file_sha256(tmp_path / "m" / f)


def test_onnx_greedy_with_empty_past_matches_pytorch_greedy(trained_run, tmp_path):
    d, _ = trained_run
    export_run(d / "run", tmp_path / "m", checkpoint="last")
    sess = ort_session(tmp_path / "m" / "model.onnx")
    prompt = [1, 20, 21, 22, 3, 30, 2]
    ref = greedy_ids(d / "run", prompt, 12, checkpoint="last")
    assert ort_greedy(sess, prompt, 12) == ref
    model, _ = load_model(d / "run", "last")
    assert greedy(model, prompt, 12) == ref
    # batch of 2, a single new token at a time, after an empty-past prefill of one token
    logits, past = ort_step(sess, [[5], [6]], empty_past(sess, 2), 0)
    assert logits.shape[:2] == (2, 1) and past["past_key_values.0.key"].shape[2] == 1


def test_int8_export_measures_its_quality_change(trained_run, tmp_path):
    d, _ = trained_run
    result = export_run(d / "run", tmp_path / "q", checkpoint="last", quantize="int8")
    q = result["quantization"]
    assert q["bytes_int8"] < 0.7 * q["bytes_fp32"]
    assert np.isfinite(q["loss_fp32"]) and np.isfinite(q["loss_int8"])
    assert 0.0 <= q["argmax_agreement"] <= 1.0 and q["max_abs_logits"] >= 0.0
    manifest = json.loads((tmp_path / "q" / "model.json").read_text())
    assert manifest["onnx"]["quantization"] == "int8"
    assert not (tmp_path / "q" / "model.fp32.onnx").exists()


def test_export_refuses_a_tokenizer_of_another_size(trained_run, tmp_path):
    d, _ = trained_run
    run = tmp_path / "run"
    import shutil

    shutil.copytree(d / "run", run)
    train_tokenizer([TEXT + "zzz qqq"], 280, run / "tokenizer.json")
    with pytest.raises(UserError, match="tokenizer"):
        export_run(run, tmp_path / "m", checkpoint="last")


def test_generate_module_prints_the_greedy_ids(trained_run, capsys):
    import argparse

    from trainer import generate

    d, _ = trained_run
    parser = argparse.ArgumentParser()
    generate.configure(parser)
    args = parser.parse_args(["--run", str(d / "run"), "--checkpoint", "last", "--prompt-ids", "1,20,21",
                              "--max-new-tokens", "5"])
    assert generate.run(args) == 0
    printed = [int(x) for x in capsys.readouterr().out.strip().split(",")]
    assert printed == greedy_ids(d / "run", [1, 20, 21], 5, checkpoint="last")
    with pytest.raises(UserError):
        generate.run(parser.parse_args(["--run", str(d / "run"), "--prompt-ids", "1,x"]))


def test_float_weights_are_listed_and_rebuild_the_model(trained_run, tmp_path):
    import torch

    from trainer.export import WEIGHTS, load_model_folder

    d, V = trained_run
    export_run(d / "run", tmp_path / "m", checkpoint="last")
    manifest = json.loads((tmp_path / "m" / "model.json").read_text())
    assert manifest["files"][WEIGHTS]["sha256"] == file_sha256(tmp_path / "m" / WEIGHTS)
    model, meta = load_model_folder(tmp_path / "m")
    assert meta["dtype"] == "bfloat16" and meta["info"]["step"] == 4
    ref, _ = load_model(d / "run", "last")
    assert model.cfg == ref.cfg and model.lm_head.weight is model.embed.weight  # tied again after loading
    for (name, got), want in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.allclose(got, want, rtol=2**-7, atol=1e-6), name  # bf16 keeps 8 bits of mantissa
    # the embedding is stored once: 2 bytes per parameter plus the header
    assert (tmp_path / "m" / WEIGHTS).stat().st_size < 2 * ref.num_parameters() + 8192
    ids = torch.randint(0, V, (1, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (model.eval()(ids)[0].argmax(-1) == ref(ids)[0].argmax(-1)).float().mean() > 0.9


def test_training_starts_from_a_model_folder(trained_run, tmp_path):
    import torch

    from trainer.export import load_model_folder

    d, _ = trained_run
    export_run(d / "run", tmp_path / "m", checkpoint="last")
    ds = json.loads((d / "run" / "data_meta.json").read_text())["_path"]
    train(preset(steps=1, lr=0.0), ds, tmp_path / "run2", tensorboard=False, progress=False,
          init_from=str(tmp_path / "m"))  # lr 0: the weights stay those of the folder
    start, _ = load_model_folder(tmp_path / "m")
    got, _ = load_model(tmp_path / "run2", "last")
    for (name, a), b in zip(got.state_dict().items(), start.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_bf16_trained_model_exports_with_parity(trained_run, tmp_path):
    d, _ = trained_run
    ds = json.loads((d / "run" / "data_meta.json").read_text())["_path"]
    tok = d / "run" / "tokenizer.json"
    for precision in ("bf16", "fp32"):
        run = tmp_path / precision
        train(preset(steps=4, precision=precision), ds, run, tokenizer=str(tok), tensorboard=False, progress=False)
        assert json.loads((run / "config.json").read_text())["precision"] == precision
        p = export_run(run, tmp_path / f"m-{precision}", checkpoint="last")["parity"]
        assert p["ok"] and p["decode_max_abs"] <= 1e-4
