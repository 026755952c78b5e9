"""The exported graph: PyTorch -> model.onnx with the contract's input/output names and a KV cache, the tied LM head
stored once, dynamic int8 quantisation (the embedding lookup reading the int8 head), and the change int8 makes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from trainer.contract import io_names
from trainer.errors import UserError
from trainer.onnx_runtime import ort_logits, ort_session


def _embedding(proto):
    """(initializer, array) of the token embedding, or None."""
    from onnx import numpy_helper

    embed = next((i for i in proto.graph.initializer if i.name.endswith("embed.weight")), None)
    return None if embed is None else (embed, numpy_helper.to_array(embed))


def _wrapper(model, last_only: bool):
    import torch

    class OnnxDecoder(torch.nn.Module):
        """Flat tensors in and out, in the order of io_names()."""

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, position_ids, *flat_past):
            past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
            logits, present = self.m(input_ids, position_ids=position_ids, attention_mask=attention_mask, past=past,
                                     last_only=last_only)
            return (logits, *[t for kv in present for t in kv])

    return OnnxDecoder(model).eval()


def export_onnx(model, path: str | os.PathLike, exporter: str = "legacy", opset: int = 17,
                share_head: bool = True, logits: str = "last") -> None:
    """Writes model.onnx (fp32, single file) and checks it with onnx.checker. share_head stores the tied
    embedding once (off before int8 quantisation, which then quantises the head's own copy). logits "last":
    the graph returns the last position's logits only ([batch, 1, vocab]; what decoding uses), "all": every
    position's."""
    if logits not in ("last", "all"):
        raise UserError(f"logits must be 'last' or 'all', not {logits!r}")
    last_only = logits == "last"
    import onnx
    import torch

    if opset < 17:
        raise UserError(f"opset {opset} is too old: need >= 17 (LayerNormalization)")
    cfg = model.cfg
    model = model.float().cpu().eval()
    inputs, outputs = io_names(cfg.n_layer)
    B, T, P = 2, 5, 3  # example sizes > 1 so no axis gets specialised to a constant
    example = (torch.randint(0, cfg.vocab_size, (B, T)), torch.ones(B, P + T, dtype=torch.long),
               torch.arange(P, P + T).expand(B, T).contiguous(),
               *[torch.zeros(B, cfg.n_kv_head, P, cfg.head_dim) for _ in range(2 * cfg.n_layer)])
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":  # keyed by the wrapper's argument names
            batch, seq, past, total = (torch.export.Dim(n) for n in ("batch", "seq", "past", "total"))
            shapes = {"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: total},
                      "position_ids": {0: batch, 1: seq}, "flat_past": tuple({0: batch, 2: past} for _ in inputs[3:])}
            prog = torch.onnx.export(_wrapper(model, last_only), example, input_names=inputs, output_names=outputs,
                                     dynamic_shapes=shapes, opset_version=opset, dynamo=True, verbose=False)
            prog.save(str(tmp), external_data=False)
        else:
            ids, mask, positions = inputs[:3]
            axes = {ids: {0: "batch", 1: "seq"}, mask: {0: "batch", 1: "total"}, positions: {0: "batch", 1: "seq"},
                    outputs[0]: {0: "batch"} if last_only else {0: "batch", 1: "seq"}}
            axes.update({n: {0: "batch", 2: "past"} for n in inputs[3:]})
            axes.update({n: {0: "batch", 2: "total"} for n in outputs[1:]})
            torch.onnx.export(_wrapper(model, last_only), example, str(tmp), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=opset, dynamo=False)
    proto = onnx.load(str(tmp))
    if share_head and _share_tied_head(proto):
        onnx.save(proto, str(tmp))
    onnx.checker.check_model(proto)
    got_in = [i.name for i in proto.graph.input]
    got_out = [o.name for o in proto.graph.output]
    if got_in != inputs or got_out != outputs:
        raise RuntimeError(f"exported names differ from the contract: {got_in} / {got_out}")
    os.replace(tmp, path)


def _share_tied_head(proto) -> bool:
    """The exporter stores the tied LM head as a transposed copy of the embedding; point it back at the
    embedding with Gemm(transB=1) so the weights are stored once. Returns whether the graph changed."""
    import numpy as np
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    found = _embedding(proto)
    if found is None:
        return False
    embed, emb = found
    for idx, node in enumerate(proto.graph.node):
        if node.op_type != "MatMul" or node.input[1] not in inits:
            continue
        w = inits[node.input[1]]
        if tuple(w.dims) != emb.shape[::-1] or not np.array_equal(numpy_helper.to_array(w), emb.T):
            continue
        gemm = helper.make_node("Gemm", [node.input[0], embed.name], list(node.output), name=node.name + "_tied",
                                transB=1)
        proto.graph.node.remove(node)
        proto.graph.node.insert(idx, gemm)
        if not any(w.name in n.input for n in proto.graph.node):
            proto.graph.initializer.remove(w)
        return True
    return False


def quantize_int8(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Dynamic int8 of the matmuls (onnxruntime.quantization); the embedding lookup then reads the LM head's
    int8 weights too (tied: stored once), dequantising only the gathered rows."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" advice
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        logging.getLogger().setLevel(level)
    proto = onnx.load(str(dst))
    if _gather_from_int8_head(proto):
        onnx.checker.check_model(proto)
        onnx.save(proto, str(dst))


def _gather_from_int8_head(proto) -> bool:
    """Embedding Gather on fp32 weights [V, d] -> Gather on Transpose(int8 head [d, V]) + DequantizeLinear.
    The Transpose of a constant is folded by onnxruntime at load; only the looked-up rows are dequantised."""
    import numpy as np
    from onnx import helper, numpy_helper

    inits = {i.name: i for i in proto.graph.initializer}
    found = _embedding(proto)
    if found is None:
        return False
    embed, emb = found
    for name, init in inits.items():
        if not name.endswith("_quantized") or tuple(init.dims) != emb.shape[::-1]:
            continue
        stem = name[: -len("_quantized")]
        scale, zp = inits.get(stem + "_scale"), inits.get(stem + "_zero_point")
        if scale is None or zp is None:
            continue
        q = numpy_helper.to_array(init).astype(np.float32)
        deq = (q - numpy_helper.to_array(zp)) * numpy_helper.to_array(scale)
        if np.abs(deq.T - emb).max() > float(numpy_helper.to_array(scale)) * 0.51:
            continue  # not the tied head
        for idx, node in enumerate(proto.graph.node):
            if node.op_type == "Gather" and node.input[0] == embed.name:
                rows_q, table = node.output[0] + "_int8", embed.name + "_int8"
                new = [helper.make_node("Transpose", [name], [table], name=table, perm=[1, 0]),
                       helper.make_node("Gather", [table, node.input[1]], [rows_q], name=node.name + "_int8", axis=0),
                       helper.make_node("DequantizeLinear", [rows_q, scale.name, zp.name], list(node.output),
                                        name=node.name + "_dequant")]
                proto.graph.node.remove(node)
                for k, n in enumerate(new):
                    proto.graph.node.insert(idx + k, n)
                if not any(embed.name in n.input for n in proto.graph.node):
                    proto.graph.initializer.remove(embed)
                return True
    return False


def quantization_change(fp32_path, int8_path, rows) -> dict:
    """Logit and loss change of the int8 model vs fp32 on dataset rows ([N, T+1] tokens and mask)."""
    import numpy as np

    tokens, mask = rows
    s32, s8 = ort_session(fp32_path), ort_session(int8_path)
    max_abs, agree, n_tok, losses = 0.0, 0, 0, {"fp32": [], "int8": []}
    for i in range(len(tokens)):
        x, y, m = tokens[i:i + 1, :-1], tokens[i, 1:], mask[i, 1:].astype(bool)
        l32, l8 = ort_logits(s32, x), ort_logits(s8, x)
        max_abs = max(max_abs, float(np.abs(l32 - l8).max()))
        agree += int((l32[0].argmax(-1) == l8[0].argmax(-1)).sum())
        n_tok += x.shape[1]
        for key, lg in (("fp32", l32[0]), ("int8", l8[0])):
            lg = lg.astype(np.float64)
            lse = np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1)) + lg.max(-1)
            nll = lse - lg[np.arange(len(y)), y]
            if m.any():
                losses[key].append(nll[m])
    l32 = float(np.concatenate(losses["fp32"]).mean()) if losses["fp32"] else float("nan")
    l8 = float(np.concatenate(losses["int8"]).mean()) if losses["int8"] else float("nan")
    return {"max_abs_logits": max_abs, "argmax_agreement": agree / max(n_tok, 1), "loss_fp32": l32,
            "loss_int8": l8, "loss_delta": l8 - l32, "rows": len(tokens),
            "bytes_fp32": os.path.getsize(fp32_path), "bytes_int8": os.path.getsize(int8_path)}
