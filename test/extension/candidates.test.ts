// Several candidates on a manual trigger and the confidence gate on automatic ones, through the Completer with the
// real engine and test model. The model writes poor code: the tests check ranking, distinctness, post-processing,
// the gate's arithmetic and the typing-through cache, never specific completions.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  Completer, DEFAULT_SETTINGS, MANUAL_CANDIDATES, confidenceOf, postprocessCandidates, type CompleterSettings, type CompletionInput,
} from '../../extension/completion/completer';
import { buildContext } from '../../extension/completion/context';
import { Stats } from '../../extension/completion/stats';
import { Engine } from '../../extension/engine';
import { CountingEngine, INDENT, ROOT, input, testModelDir } from './engineHelpers';

const SOURCE = readFileSync(path.join(ROOT, 'trainer', 'fim.py'), 'utf8');

/** Cursor positions at the end of assignment lines and just after `=` / `(` on them. */
function positions(text: string, n: number): number[] {
  const out: number[] = [];
  let off = 0;
  for (const line of text.split('\n')) {
    if (/^\s+\w+ = \S/.test(line)) out.push(off + line.length, off + line.indexOf(' = ') + 3);
    off += line.length + 1;
  }
  return out.slice(0, n);
}

describe('manual-trigger candidates and the confidence gate (real engine, test model)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let counting: CountingEngine;
  const completer = (s: Partial<CompleterSettings> = {}, stats?: Stats) =>
    new Completer(async () => counting, () => ({ ...DEFAULT_SETTINGS, debounceMs: 0, ...s }), { stats });

  before(async () => {
    engine = await Engine.load(testModelDir());
    counting = new CountingEngine(engine);
  });
  after(async () => { await engine?.dispose(); });

  it('the engine returns distinct candidates ranked by score, the first being the result', async () => {
    for (const off of positions(SOURCE, 6)) {
      const r = await engine.complete({ prefix: SOURCE.slice(0, off), suffix: SOURCE.slice(off), singleLine: true, maxNewTokens: 16, candidates: 4 });
      const c = r.candidates!;
      assert.ok(c.length >= 1 && c.length <= 4);
      assert.equal(new Set(c.map((x) => x.text)).size, c.length, 'distinct texts');
      for (let i = 1; i < c.length; i++) assert.ok(c[i - 1].score >= c[i].score, `ranked: ${c.map((x) => x.score).join(', ')}`);
      assert.equal(r.text, c[0].text);
      assert.equal(r.minLogProb, c[0].minLogProb);
      for (const x of c) assert.ok(x.minLogProb <= x.meanLogProb && x.meanLogProb <= 0, `${x.minLogProb} <= ${x.meanLogProb} <= 0`);
    }
  });

  it('a manual trigger shows up to 3 distinct post-processed candidates in the engine\'s order; automatic asks for one', async () => {
    const c = completer({ minConfidence: 0 });
    let several = 0;
    for (const off of positions(SOURCE, 10)) {
      c.cache.clear();
      const o = await c.complete(input(SOURCE, off));
      const req = counting.requests[counting.requests.length - 1];
      const raw = counting.results[counting.results.length - 1];
      assert.equal(req.candidates, MANUAL_CANDIDATES + 1);
      const ctx = buildContext(SOURCE, off, { indent: INDENT, maxLines: DEFAULT_SETTINGS.maxLines });
      const want = postprocessCandidates(ctx, raw.candidates!).slice(0, MANUAL_CANDIDATES);
      assert.deepEqual((o.candidates ?? []).map((k) => k.insertText), want.map((w) => w.text));
      if (o.candidates) {
        assert.equal(o.completion, o.candidates[0]);
        assert.equal(new Set(o.candidates.map((k) => k.id)).size, o.candidates.length, 'each has its own id');
        if (o.candidates.length > 1) several++;
      }
      c.cache.clear();
      const auto = await c.complete(input(SOURCE, off, { trigger: 'automatic' }));
      assert.equal(counting.requests[counting.requests.length - 1].candidates, undefined);
      assert.equal(auto.candidates, undefined);
    }
    assert.ok(several > 0, 'some manual trigger offered more than one suggestion');
  });

  it('hides automatic suggestions below minConfidence (and counts them), never a manual one', async () => {
    // Every request from a cleared KV cache: dynamic int8 logits depend slightly on how the prompt was fed.
    const ask = async (c: Completer, i: CompletionInput) => { await engine.clearCache(); return c.complete(i); };
    const open = completer({ minConfidence: 0 });
    let conf: number | undefined;
    let at = -1;
    for (const off of positions(SOURCE, 20)) {
      const o = await ask(open, input(SOURCE, off, { trigger: 'automatic' }));
      if (o.completion?.source === 'model') {
        conf = o.completion.confidence!;
        at = off;
        assert.equal(conf, confidenceOf(counting.results[counting.results.length - 1]));
        break;
      }
    }
    assert.ok(conf !== undefined && conf > 0 && conf <= 1, `no automatic suggestion to gate (${conf})`);
    const stats = new Stats();
    const atThreshold = await ask(completer({ minConfidence: conf }), input(SOURCE, at, { trigger: 'automatic' }));
    assert.ok(atThreshold.completion, 'shown at exactly its confidence');
    const above = completer({ minConfidence: conf + 1e-6 }, stats);
    const hidden = await ask(above, input(SOURCE, at, { trigger: 'automatic' }));
    assert.equal(hidden.skipped, 'low-confidence');
    assert.equal(stats.data.hidden, 1);
    assert.equal(above.cache.size, 0, 'a hidden suggestion is not typed through');
    const manual = await ask(above, input(SOURCE, at, { trigger: 'invoke' }));
    assert.ok(manual.completion, 'a manual trigger shows the best whatever its confidence');
  });

  it('typing the start of another candidate is served from the cache with that candidate\'s rest', async () => {
    const c = completer({ minConfidence: 0 });
    for (const off of positions(SOURCE, 40)) {
      c.cache.clear();
      const o = await c.complete(input(SOURCE, off));
      const k = o.candidates ?? [];
      const other = k.find((x, i) => i > 0 && x.insertText[0] !== k[0].insertText[0] && x.insertText.length > 1);
      if (!other) continue;
      const calls = counting.calls;
      const typed = SOURCE.slice(0, off) + other.insertText[0] + SOURCE.slice(off);
      const hit = await c.complete(input(typed, off + 1, { trigger: 'automatic' }));
      assert.equal(counting.calls, calls, 'no model call');
      assert.equal(hit.completion?.source, 'cache');
      assert.equal(hit.completion?.insertText, other.insertText.slice(1));
      assert.equal(hit.completion?.id, other.id);
      return;
    }
    assert.fail('no manual trigger in 40 places offered two candidates that differ in their first character');
  });
});
