"""The model: shapes and vocab size checked loudly, causality, masks that never produce NaN, the KV cache."""

from __future__ import annotations

import pytest
import torch

from trainer.model import ModelConfig, TinyFIM, forward_loss, masked_loss, param_groups


def tiny(**kw) -> TinyFIM:
    torch.manual_seed(0)
    cfg = dict(vocab_size=50, context=32, n_layer=2, n_head=4, n_kv_head=2, d_model=32)
    return TinyFIM(ModelConfig(**{**cfg, **kw})).eval()


def test_vocab_size_must_be_given_and_positive():
    with pytest.raises(TypeError):
        ModelConfig()  # no default: it must come from the tokenizer
    with pytest.raises(ValueError, match="vocab_size"):
        ModelConfig(vocab_size=0)
    with pytest.raises(ValueError, match="n_kv_head"):
        ModelConfig(vocab_size=10, n_head=4, n_kv_head=3)


def test_embedding_and_head_share_the_vocab_rows():
    m = tiny(vocab_size=77)
    assert m.embed.weight.shape[0] == m.lm_head.weight.shape[0] == 77
    assert m.lm_head.weight.data_ptr() == m.embed.weight.data_ptr()  # tied
    logits, _ = m(torch.zeros(1, 3, dtype=torch.long))
    assert logits.shape == (1, 3, 77)


def test_bad_shapes_and_out_of_vocab_targets_fail_loudly():
    m = tiny()
    with pytest.raises(ValueError, match=r"\[batch, seq\]"):
        m(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="context"):
        m(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        forward_loss(m, torch.zeros(2, 9, dtype=torch.long), torch.ones(9, 2))
    with pytest.raises(ValueError, match="vocab"):
        forward_loss(m, torch.full((1, 5), 50), torch.ones(1, 5))


def test_causal_perturbing_a_later_token_leaves_earlier_logits_unchanged():
    m = tiny()
    x = torch.randint(0, 50, (2, 16))
    y = x.clone()
    y[:, 10] = (y[:, 10] + 1) % 50
    a, _ = m(x)
    b, _ = m(y)
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_kv_cache_decoding_matches_full_forward_with_gqa_and_mqa():
    for n_kv in (4, 2, 1):
        m = tiny(n_kv_head=n_kv)
        x = torch.randint(0, 50, (2, 20))
        full, _ = m(x)
        logits, past = m(x[:, :7], attention_mask=torch.ones(2, 7, dtype=torch.long))
        assert past[0][0].shape == (2, n_kv, 7, 8)
        steps = [logits]
        for t in range(7, 20):
            logits, past = m(x[:, t:t + 1], position_ids=torch.full((2, 1), t),
                             attention_mask=torch.ones(2, t + 1, dtype=torch.long), past=past)
            steps.append(logits)
        assert (torch.cat(steps, 1) - full).abs().max() < 1e-5


def test_masks_keep_logits_finite_heavy_padding_left_padding_and_single_token():
    m = tiny()
    x = torch.randint(0, 50, (3, 12))
    am = torch.ones(3, 12, dtype=torch.long)
    am[0, :11] = 0  # heavy left padding: only the last token is real
    am[1, :4] = 0
    am[2, :] = 0  # a row with nothing real at all
    pos = (am.cumsum(1) - 1).clamp_min(0)
    logits, _ = m(x, position_ids=pos, attention_mask=am)
    assert torch.isfinite(logits).all()
    # a left-padded row's real tokens see exactly what an unpadded row of the same tokens sees
    ref, _ = m(x[1:2, 4:])
    assert (logits[1, 4:] - ref[0]).abs().max() < 1e-5
    one, _ = m(x[:, :1], attention_mask=torch.ones(3, 1, dtype=torch.long))
    assert torch.isfinite(one).all()


def test_masked_tokens_contribute_nothing_to_the_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 11, requires_grad=True)
    targets = torch.randint(0, 11, (2, 6))
    mask = torch.tensor([[1, 1, 0, 1, 0, 0], [0, 1, 1, 1, 1, 0]])
    per_token, loss = masked_loss(logits, targets, mask)
    assert (per_token[mask == 0] == 0).all()
    loss.backward()
    assert (logits.grad[mask == 0] == 0).all()  # no gradient from padding
    ref = torch.nn.functional.cross_entropy(logits[mask == 1], targets[mask == 1])
    assert torch.allclose(loss, ref)


def test_no_weight_decay_on_norms_and_embeddings():
    m = tiny()
    decay, no_decay = param_groups(m, 0.1)
    names = {id(p): n for n, p in m.named_parameters()}
    assert all(p.dim() == 2 and "embed" not in names[id(p)] for p in decay["params"])
    assert any("norm" in names[id(p)] for p in no_decay["params"])
    assert any("embed" in names[id(p)] for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(m.parameters()))
