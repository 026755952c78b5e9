"""onnxruntime on an exported model.onnx: sessions, one cached step, logits, greedy decoding, and the parity check
against PyTorch that export runs. Evaluation and fine-tuning decode with these; the graph's input and output names
are the contract's (trainer/contract.json).
"""

from __future__ import annotations

import os

from trainer.contract import io_names

PARITY_TOL = 1e-4
IDS, MASK, POSITIONS = io_names(0)[0]  # the fixed inputs; every other input is a past key or value
LOGITS = io_names(0)[1][0]


def ort_session(path: str | os.PathLike, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def empty_past(session, batch: int = 1) -> dict:
    """Feeds for an empty cache (past = 0), shaped from the session's own input metadata."""
    import numpy as np

    feeds = {}
    for inp in session.get_inputs():
        if inp.name not in (IDS, MASK, POSITIONS):
            _, n_kv, _, hd = inp.shape
            feeds[inp.name] = np.zeros((batch, n_kv, 0, hd), dtype=np.float32)
    return feeds


def ort_step(session, ids, past: dict, start: int):
    """One cached call: ids [B, T] at positions start.. -> (logits [B, T, V], next past feeds)."""
    import numpy as np

    ids = np.asarray(ids, dtype=np.int64)
    B, T = ids.shape
    feeds = {IDS: ids, MASK: np.ones((B, start + T), dtype=np.int64),
             POSITIONS: np.broadcast_to(np.arange(start, start + T, dtype=np.int64), (B, T)).copy(), **past}
    names = [o.name for o in session.get_outputs()]
    outs = session.run(names, feeds)
    past_names = io_names((len(names) - 1) // 2)[0][3:]  # present.{i}.{kv} feeds past_key_values.{i}.{kv}
    return outs[0], dict(zip(past_names, outs[1:], strict=True))


def ort_logits(session, ids):
    """Logits at every position of ids [1, T] -> [1, T, V]: one call when the graph returns all positions,
    else (a last-position graph) one cached call per token."""
    import numpy as np

    logits, past = ort_step(session, ids, empty_past(session), 0)
    if logits.shape[1] == ids.shape[1]:
        return logits
    rows = []
    past = empty_past(session)
    for t in range(ids.shape[1]):
        logits, past = ort_step(session, ids[:, t:t + 1], past, t)
        rows.append(logits[:, -1])
    return np.stack(rows, axis=1)


def ort_greedy(session, prompt_ids: list[int], max_new_tokens: int, stop_ids=(0,), context: int | None = None):
    """Greedy decoding with the KV cache in onnxruntime (mirrors trainer.model.greedy)."""
    logits, past = ort_step(session, [prompt_ids], empty_past(session), 0)
    out, pos = [], len(prompt_ids)
    for _ in range(max_new_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt in stop_ids or (context is not None and pos >= context):
            break
        logits, past = ort_step(session, [[nxt]], past, pos)
        pos += 1
    return out


def check_parity(model, onnx_path, prompt_len: int = 24, steps: int = 16, seed: int = 0) -> dict:
    """PyTorch full-sequence logits vs onnxruntime prefill (empty past) + `steps` cached steps."""
    import numpy as np
    import torch

    cfg = model.cfg
    prompt_len = max(1, min(prompt_len, cfg.context - steps))  # stay within the trained context
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, cfg.vocab_size, (1, prompt_len + steps), generator=g)
    with torch.no_grad():
        ref = model.float().cpu().eval()(ids)[0].numpy()
    sess = ort_session(onnx_path)
    logits, past = ort_step(sess, ids[:, :prompt_len].numpy(), empty_past(sess), 0)
    want = ref[:, :prompt_len] if logits.shape[1] == prompt_len else ref[:, prompt_len - 1:prompt_len]  # all / last
    prefill = float(np.abs(logits - want).max())
    decode = 0.0
    for t in range(prompt_len, prompt_len + steps):
        logits, past = ort_step(sess, ids[:, t:t + 1].numpy(), past, t)
        decode = max(decode, float(np.abs(logits - ref[:, t:t + 1]).max()))
    # batch of 2 with a left-padded row: logits must stay finite (no fully masked softmax row)
    am = np.ones((2, 8), dtype=np.int64)
    am[0, :3] = 0
    feeds = {IDS: np.tile(ids[:, :8].numpy(), (2, 1)), MASK: am,
             POSITIONS: np.clip(np.cumsum(am, axis=1) - 1, 0, None), **empty_past(sess, 2)}
    finite = bool(np.isfinite(sess.run([LOGITS], feeds)[0]).all())
    result = {"prefill_max_abs": prefill, "decode_max_abs": decode, "prompt_len": prompt_len, "steps": steps,
              "left_padding_finite": finite, "tolerance": PARITY_TOL,
              "ok": prefill <= PARITY_TOL and decode <= PARITY_TOL and finite}
    return result
