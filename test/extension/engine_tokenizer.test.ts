import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '../../extension/engine/tokenizer';
import { python, testModelDir } from './engineHelpers';

// Awkward strings: tabs, CRLF, trailing spaces, non-ASCII, digits, literal special-token text, control chars.
const GOLDEN = [
  '', ' ', '    ', '\n\n\n', 'def f(x):\n    return x + 1\n', '\tindented\twith\ttabs\n', 'line1\r\nline2\r\n', 'mixed \r\n \n\r \r',
  'trailing spaces   \n   \n', 'héllo wörld café — naïve 日本語 🙂 emoji👍🏽', '12345 3.14159 0x1F 1_000_000 2e-10 x1y22',
  "x = '<|endoftext|>' # <|fim_prefix|> and <|answer|>", '<|endoftext|>', 'a<|endoftext|>b<|fim_middle|>', '   leading',
  'if a:\n\tif b:\n\t\tpass\n', "s = \"it's they're we've I'm you'll he'd\"", '\u00a0nbsp\u2003emsp\u3000ideographic',
  '\u0000\u0001\u001f control', 'ＡＢＣ fullwidth', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math', 'ℌ ǅ ß ﬁ Ω K Å', '😀😀😀', 'print(f"{x!r:>10}")\n',
  'class Foo(Bar):\n    """Doc."""\n    def __init__(self, *args, **kwargs) -> None:\n        super().__init__(*args, **kwargs)\n',
  '    x = [1, 2, 3]  \n\n\n    return {"a": (1,)}', '\\n \\t "\\u00e9"', ')))]]]}}};;;,,,', '#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n',
];

const PY = `
import json, sys, random
from trainer.tokenizer import load_tokenizer, encode_text
req = json.load(sys.stdin)
tok = load_tokenizer(req["path"])
enc = [encode_text(tok, s) for s in req["texts"]]
rnd = random.Random(0)
n = tok.get_vocab_size()
ids = [[rnd.randrange(n) for _ in range(rnd.randrange(1, 12))] for _ in range(200)]
print(json.dumps({"ids": enc, "decoded": [tok.decode(e) for e in enc],
                  "random_ids": ids, "random_decoded": [tok.decode(i, skip_special_tokens=True) for i in ids]}))
`;

describe('engine tokenizer (parity with Python tokenizers)', () => {
  let tok: Tokenizer;
  let ref: { ids: number[][]; decoded: string[]; random_ids: number[][]; random_decoded: string[] };
  before(function () {
    this.timeout(60000);
    const file = path.join(testModelDir(), 'tokenizer.json');
    tok = new Tokenizer(JSON.parse(readFileSync(file, 'utf8')), file);
    ref = python(PY, { path: file, texts: GOLDEN });
  });

  it('encodes the golden strings to the same ids as trainer.tokenizer.encode_text', () => {
    GOLDEN.forEach((s, i) => assert.deepEqual(tok.encode(s), ref.ids[i], `ids differ for ${JSON.stringify(s)}`));
  });

  it('decodes to the same text as Python, and round-trips', () => {
    GOLDEN.forEach((s, i) => {
      assert.equal(tok.decode(ref.ids[i]), ref.decoded[i], JSON.stringify(s));
      assert.equal(tok.decode(tok.encode(s)), s);
    });
  });

  it('literal special-token text never becomes a special id', () => {
    for (const s of ['<|endoftext|>', '<|fim_prefix|>x<|fim_suffix|>', 'a<|answer|>']) {
      assert.ok(tok.encode(s).every((id) => id > 11), s);
    }
    assert.equal(tok.special('<|endoftext|>'), 0);
    assert.equal(tok.special('<|answer|>'), 11);
  });

  it('decodes arbitrary id sequences (invalid UTF-8 included) like Python with skip_special_tokens', () => {
    ref.random_ids.forEach((ids, i) => assert.equal(tok.decode(ids), ref.random_decoded[i], JSON.stringify(ids)));
  });

  it('decodeStable holds back an unfinished UTF-8 character', () => {
    const ids = tok.encode('é🙂');
    const partial: number[] = [];
    for (const id of ids) {
      partial.push(id);
      assert.ok(!tok.decodeStable(partial).includes('\ufffd'), JSON.stringify(partial));
    }
    assert.equal(tok.decodeStable(ids), 'é🙂');
  });
});
