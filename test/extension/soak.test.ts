// A short typing soak (bench/soak.ts, 200 keystrokes 15-60 ms apart) on the real Completer and engine: the behaviour
// only (timing and memory are the benchmark's): nothing is answered after a newer request, nothing queues up.
import * as assert from 'node:assert/strict';
import { soak, sampleFiles } from '../../bench/soak';
import { Completer, DEFAULT_SETTINGS } from '../../extension/completion/completer';
import { Engine } from '../../extension/engine';
import { ROOT, testModelDir } from './engineHelpers';

describe('typing soak (short)', function () {
  this.timeout(120_000);
  let engine: Engine;
  before(async () => { engine = await Engine.load(testModelDir()); });
  after(async () => { await engine?.dispose(); });

  it('200 keystrokes: answers in order, none after a newer request, requests in flight bounded', async () => {
    // No confidence gate (the tiny test model's answers count too) and a short debounce, so that many requests reach
    // the model between keystrokes and the next keystroke often cancels one mid-decoding.
    const completer = new Completer(async () => engine, () => ({ ...DEFAULT_SETTINGS, minConfidence: 0, debounceMs: 10 }));
    const r = await soak(completer, sampleFiles(ROOT), { keystrokes: 200, seed: 7 });
    assert.ok(r.asked > 150, `${r.asked} requests`);
    const seen = `${JSON.stringify(r.outcomes)} ${JSON.stringify(r.actions)}`;
    assert.ok(r.outcomes.model > 0 && r.outcomes.cancelled > 0 && r.actions.manual > 0, seen);
    assert.equal(Object.values(r.outcomes).reduce((a, b) => a + b, 0), r.asked, `every request settled: ${seen}`);
    assert.equal(r.lateAnswers, 0, 'requests answered although a newer one had been made');
    assert.equal(r.outOfOrder, 0, 'answers settled out of the order the requests were made');
    assert.ok(Math.max(...r.inflightByQuarter) <= 3, `requests in flight per quarter: ${r.inflightByQuarter}`);
    assert.ok(r.inflightByQuarter[3] <= r.inflightByQuarter[0] + 1, `in flight grows: ${r.inflightByQuarter}`);
    assert.equal(r.outcomes.error, undefined, seen);
    // Everything settled: the engine answers the next request at once (no work left queued behind it).
    const t0 = performance.now();
    const last = await completer.complete({ docId: 'after', text: 'def f(x):\n    return ', offset: 21, languageId: 'python',
      indent: { insertSpaces: true, tabSize: 4 }, trigger: 'invoke' });
    assert.ok(last.modelMs !== undefined && performance.now() - t0 < 10_000, JSON.stringify(last));
  });

  it('an answer the engine finishes after the request was cancelled is not returned', async () => {
    // The soak's rare case made certain: the keystroke lands while the last decoding step runs, so the engine
    // still answers 'stop'.
    const controller = new AbortController();
    const late = { get manifest() { return engine.manifest; }, complete: async (req: Parameters<Engine['complete']>[0]) => {
      const r = await engine.complete(req);
      controller.abort();
      return r;
    } };
    const completer = new Completer(async () => late, () => ({ ...DEFAULT_SETTINGS, minConfidence: 0 }));
    const o = await completer.complete({ docId: 'late', text: 'def f(x):\n    return ', offset: 21, languageId: 'python',
      indent: { insertSpaces: true, tabSize: 4 }, trigger: 'invoke', signal: controller.signal });
    assert.equal(o.skipped, 'cancelled', JSON.stringify(o));
    assert.equal(o.completion, undefined);
  });
});
