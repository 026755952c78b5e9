// Token healing with the real tokenizer and model: the vocabulary index against a scan of the vocabulary, what the
// golden cases take back from the prompt, the healed prompt, the engine's constrained decoding and confidence against
// a brute-force constrained greedy decoding of the same ONNX model, and KV reuse while typing with healing on.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../../extension/engine';
import { binary, healPrefix } from '../../extension/engine/heal';
import { loadModelFolder, type OnnxModel } from '../../extension/engine/model';
import { buildFimPrompt } from '../../extension/engine/prompts';
import type { Tokenizer } from '../../extension/engine/tokenizer';
import { testModelDir } from './engineHelpers';
import { parseSections, splitCursor, unescape } from './golden';

const FILE = path.join(__dirname, '..', '..', '..', 'test', 'extension', 'golden', 'healing', 'cases.txt');
const CASES = parseSections('healing/cases.txt', readFileSync(FILE, 'utf8'), ['document']).map(({ name, sections }) => ({
  name, ...splitCursor(unescape(sections.document)),
  removed: sections.removed === undefined ? undefined : unescape(sections.removed),
  within: sections.within === undefined ? undefined : unescape(sections.within),
}));

const utf8 = (s: string): string => Buffer.from(s, 'latin1').toString('utf8');

/** Greedy decoding where, until `removed` is re-written, only tokens that fit what is left of it may be chosen: a
 *  plain scan of the vocabulary, no index. Fed like the engine feeds a cold request (the prompt in one run, then a
 *  token at a time): dynamic int8 logits depend slightly on how the sequence is split. */
async function bruteHealedGreedy(model: OnnxModel, tok: Tokenizer, prompt: number[], removed: Uint8Array, n: number):
Promise<{ text: string; logProbs: number[] }> {
  const ids: number[] = [];
  const logProbs: number[] = [];
  let written = 0;
  let { logits, present } = await model.forward([prompt], model.emptyPast(), 0);
  for (let step = 0; step < n; step++) {
    if (step > 0) ({ logits, present } = await model.forward([[ids[ids.length - 1]]], present, prompt.length + ids.length - 1));
    const fits = (id: number): boolean => {
      const b = tok.tokenBytes(id);
      if (written >= removed.length) return true;
      if (b.length === 0) return false; // a special token cannot re-write bytes
      for (let i = 0; i < b.length && written + i < removed.length; i++) if (b[i] !== removed[written + i]) return false;
      return true;
    };
    let best = -1;
    let max = -Infinity;
    for (let id = 0; id < logits.length; id++) if (fits(id) && logits[id] > max) { max = logits[id]; best = id; }
    let sum = 0;
    for (let id = 0; id < logits.length; id++) if (fits(id)) sum += Math.exp(logits[id] - max);
    const lp = -Math.log(sum); // logits[best] - max - log(sum)
    const len = tok.tokenBytes(best).length;
    if (tok.isSpecial(best)) { logProbs.push(lp); break; }
    ids.push(best);
    if (written + len > removed.length) logProbs.push(lp);
    written += len;
  }
  return { text: tok.decodeStable(ids, removed.length), logProbs };
}

describe('token healing (real tokenizer and model)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let model: OnnxModel;
  before(async () => {
    engine = await Engine.load(testModelDir());
    ({ model } = await loadModelFolder(testModelDir()));
  });
  after(async () => {
    await engine?.dispose();
    await model?.release();
  });

  it('the vocabulary index finds exactly the entries that start with given bytes or are a start of them', () => {
    const tok = engine.tokenizer;
    const all = Array.from({ length: tok.vocabSize }, (_, id) => binary(tok.tokenBytes(id)));
    for (const rest of [' ', '    ', '.', 'fin', ' ==', 'hel', '"', '\n', 'self', ' s', 'zzzq']) {
      const want = all.map((t, id) => ({ t, id })).filter(({ t }) => t !== '' && (t.startsWith(rest) || (rest.startsWith(t) && t.length < rest.length)))
        .map(({ id }) => id).sort((a, b) => a - b);
      assert.deepEqual([...engine.vocab.allowed(rest)].sort((a, b) => a - b), want, JSON.stringify(rest));
      assert.equal(engine.vocab.extendable(rest), all.some((t) => t.length > rest.length && t.startsWith(rest)), JSON.stringify(rest));
    }
  });

  for (const c of CASES) {
    it(`golden: ${c.name}`, async () => {
      const prefix = c.text.slice(0, c.offset);
      const suffix = c.text.slice(c.offset);
      const ids = engine.tokenizer.encode(prefix);
      const h = healPrefix(ids, engine.vocab);
      const removed = utf8(h.removed);
      if (c.removed !== undefined) assert.equal(removed, c.removed);
      else assert.ok(removed.length > 0 && c.within!.endsWith(removed), `took back ${JSON.stringify(removed)}, not an end of ${JSON.stringify(c.within)}`);
      assert.ok(prefix.endsWith(removed));
      assert.deepEqual(ids.slice(0, h.ids.length), h.ids, 'only whole tokens at the end are taken back');
      assert.equal(engine.tokenizer.decode(ids.slice(h.ids.length)), removed);

      // The healed SPM prompt is the plain one without those tokens at its end.
      const budget = 200;
      const plain = buildFimPrompt(engine.manifest, engine.tokenizer, prefix, suffix, { mode: 'spm', budget });
      const healed = buildFimPrompt(engine.manifest, engine.tokenizer, prefix, suffix, { mode: 'spm', budget, heal: engine.vocab });
      assert.deepEqual(healed.ids, plain.ids.slice(0, plain.ids.length - h.tokens));
      assert.equal(utf8(healed.healed), removed);

      // The engine's healed completion is the brute-force constrained greedy decoding, confidence included.
      for (const mode of ['spm', 'psm'] as const) {
        const p = buildFimPrompt(engine.manifest, engine.tokenizer, prefix, suffix, { mode, budget: 256 - 12, heal: engine.vocab });
        const want = await bruteHealedGreedy(model, engine.tokenizer, p.ids, Buffer.from(p.healed, 'latin1'), 12);
        await engine.clearCache();
        const r = await engine.complete({ prefix, suffix, mode, maxNewTokens: 12 });
        assert.equal(r.healed, removed);
        assert.equal(r.text, want.text, `${mode}: ${JSON.stringify(r.text)} vs brute force ${JSON.stringify(want.text)}`);
        const mean = want.logProbs.reduce((a, b) => a + b, 0) / want.logProbs.length;
        assert.ok(Math.abs(r.meanLogProb - mean) < 1e-3, `${mode}: mean log-prob ${r.meanLogProb} vs ${mean}`);
        assert.ok(Math.abs(r.minLogProb - Math.min(...want.logProbs)) < 1e-3, `${mode}: min log-prob ${r.minLogProb}`);
      }
    });
  }

  it('heal: false leaves the prompt alone', async () => {
    const c = CASES[0];
    await engine.clearCache();
    const r = await engine.complete({ prefix: c.text.slice(0, c.offset), suffix: c.text.slice(c.offset), heal: false, maxNewTokens: 4 });
    assert.equal(r.healed, '');
  });

  it('SPM typing with healing on keeps reusing the KV cache and gives the cold request\'s text', async () => {
    const doc = 'class Reader:\n    def close(self):\n        if self._finished:\n            return\n';
    const start = doc.indexOf('self._fin') + 5; // typing `_finished` one character at a time
    const suffix = doc.slice(doc.indexOf(':\n            return'));
    const warm: Awaited<ReturnType<Engine["complete"]>>[] = [];
    await engine.clearCache();
    for (let k = 0; k <= 6; k++) warm.push(await engine.complete({ prefix: doc.slice(0, start + k), suffix, mode: 'spm', singleLine: true, maxNewTokens: 8 }));
    for (let k = 1; k <= 6; k++) {
      const r = warm[k];
      assert.ok(r.healed !== '', `typed ${k}: something was healed`);
      assert.ok(r.reusedTokens > 0 && r.prefillTokens <= 3, `typed ${k}: fed ${r.prefillTokens}, reused ${r.reusedTokens}`);
      await engine.clearCache();
      const cold = await engine.complete({ prefix: doc.slice(0, start + k), suffix, mode: 'spm', singleLine: true, maxNewTokens: 8 });
      assert.equal(r.text, cold.text, `typed ${k}`);
    }
  });
});
