import * as assert from 'node:assert/strict';
import {
  chrf, corpusBleu, corpusChrf, editSimilarity, exactMatch, percentile, sentenceBleu, tokenize13a, wordErrorRate, wordSetIou,
} from '../../extension/cli/metrics';
import { python } from './engineHelpers';

// (hypothesis, reference) pairs: code-like, empty, short (< 6 chars), unicode, punctuation-heavy, numbers.
const PAIRS: [string, string][] = [
  ['return a', 'return a + b'],
  ['pass', 'pass'],
  ['', 'x = 1'],
  ['x = 1', ''],
  ['', ''],
  ['for i in range(10):\n    print(i)', 'for i in range(n):\n    print(i, end="")'],
  ['result = [x * 2 for x in items if x > 0]', 'result = [x * 2 for x in items]'],
  ['naïve café = "日本語"', 'naive cafe = "日本語"'],
  ['a, b = b, a+b  # 3.14 1,000 x-1', 'a, b = b, a + b  # 3.14 1,000 x - 1'],
  ['self.assertEqual(foo(1), 2)', 'self.assertEqual(foo(2), 4)'],
  ['def f(x):\treturn x', 'def f(x):\n    return x'],
];

const SACRE = `
import json, sys, sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
pairs = json.load(sys.stdin)
tok = Tokenizer13a()
out = {
  "sentence_bleu": [sacrebleu.sentence_bleu(h, [r]).score / 100 for h, r in pairs],
  "sentence_chrf": [sacrebleu.sentence_chrf(h, [r]).score / 100 for h, r in pairs],
  "corpus_bleu": sacrebleu.corpus_bleu([h for h, _ in pairs], [[r for _, r in pairs]]).score / 100,
  "corpus_chrf": sacrebleu.corpus_chrf([h for h, _ in pairs], [[r for _, r in pairs]]).score / 100,
  "tok13a": [tok(h) for h, _ in pairs],
}
print(json.dumps(out))
`;

describe('engine metrics', () => {
  let ref: { sentence_bleu: number[]; sentence_chrf: number[]; corpus_bleu: number; corpus_chrf: number; tok13a: string[] };
  before(function () {
    this.timeout(60000);
    ref = python(SACRE, PAIRS);
  });

  it('13a tokenization matches sacreBLEU', () => {
    PAIRS.forEach(([h], i) => assert.equal(tokenize13a(h), ref.tok13a[i], JSON.stringify(h)));
  });

  it('sentence BLEU and chrF match sacrebleu.sentence_bleu / sentence_chrf', () => {
    PAIRS.forEach(([h, r], i) => {
      assert.ok(Math.abs(sentenceBleu(h, r) - ref.sentence_bleu[i]) < 1e-9, `BLEU ${JSON.stringify([h, r])}: ${sentenceBleu(h, r)} vs ${ref.sentence_bleu[i]}`);
      assert.ok(Math.abs(chrf(h, r) - ref.sentence_chrf[i]) < 1e-9, `chrF ${JSON.stringify([h, r])}: ${chrf(h, r)} vs ${ref.sentence_chrf[i]}`);
    });
  });

  it('corpus BLEU and chrF match sacrebleu.corpus_bleu / corpus_chrf', () => {
    const hyps = PAIRS.map((p) => p[0]);
    const refs = PAIRS.map((p) => p[1]);
    assert.ok(Math.abs(corpusBleu(hyps, refs) - ref.corpus_bleu) < 1e-9, `${corpusBleu(hyps, refs)} vs ${ref.corpus_bleu}`);
    assert.ok(Math.abs(corpusChrf(hyps, refs) - ref.corpus_chrf) < 1e-9, `${corpusChrf(hyps, refs)} vs ${ref.corpus_chrf}`);
  });

  it('the seed bugs are absent: short exact matches score 1, argument order is (hypothesis, reference)', () => {
    assert.ok(Math.abs(chrf('pass', 'pass') - 1) < 1e-12);
    assert.ok(Math.abs(sentenceBleu('pass', 'pass') - 1) < 1e-12);
    // WER divides by the REFERENCE length: 1 wrong word out of 2 reference words.
    assert.equal(wordErrorRate('return a', 'return b'), 0.5);
    assert.equal(wordErrorRate('return', 'return a + b'), 0.75);
    assert.equal(wordErrorRate('return a + b', 'return'), 3);
    // BLEU is not symmetric: a short hypothesis gets the brevity penalty.
    assert.ok(sentenceBleu('return a', 'return a + b c d') < sentenceBleu('return a + b c d', 'return a'));
  });

  it('exact match strips, edit similarity and word IoU follow their definitions', () => {
    assert.equal(exactMatch('  x = 1\n', 'x = 1'), 1);
    assert.equal(exactMatch('x = 1', 'x = 2'), 0);
    assert.equal(editSimilarity('kitten', 'sitting'), 1 - 3 / 7);
    assert.equal(editSimilarity('', ''), 1);
    assert.equal(editSimilarity('日本', '日本語'), 1 - 1 / 3); // code points, not UTF-16 units
    assert.equal(wordSetIou('a b c', 'b c d'), 2 / 4);
    assert.equal(wordSetIou('a a b', 'b a'), 1);
  });

  it('percentile is nearest-rank', () => {
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
  });
});
