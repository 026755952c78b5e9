// The CLI verbs and the benchmarks complete through the editor's own path: the provider's Completer with the
// settings' defaults from package.json, flags overriding them explicitly. Real engine, test model; the tests assert
// what reaches the engine and that the bench's answer is the Completer's, never specific completions.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { COMPLETION_OPTIONS, parse, pathOptionsFrom } from '../../extension/cli/args';
import { runBench } from '../../extension/cli/bench';
import { EditorPath } from '../../extension/cli/editor';
import { Completer, SINGLE_LINE_MAX_TOKENS } from '../../extension/completion/completer';
import { DEFAULT_SETTINGS } from '../../extension/completion/settings';
import { Engine, type TraceResult } from '../../extension/engine';
import { CountingEngine, ROOT, input, testModelDir } from './engineHelpers';

const SOURCE = readFileSync(path.join(ROOT, 'trainer', 'fim.py'), 'utf8');

/** FIM rows cut from a real file: the cursor after `= ` on assignment lines (single-line: text follows on the
 *  line) and at the end of block openers (multi-line); `middle` is what the file has there. */
function rows(): { prefix: string; suffix: string; middle: string; single: boolean }[] {
  const out: { prefix: string; suffix: string; middle: string; single: boolean }[] = [];
  let off = 0;
  for (const line of SOURCE.split('\n')) {
    const eq = line.indexOf(' = ');
    if (/^\s+\w+ = \w+\(/.test(line) && out.filter((r) => r.single).length < 3) {
      const cut = off + eq + 3 + 2;
      out.push({ prefix: SOURCE.slice(0, cut), suffix: SOURCE.slice(off + line.length), middle: SOURCE.slice(cut, off + line.length), single: true });
    } else if (/^\s*(def|for|if) .*:$/.test(line) && out.filter((r) => !r.single).length < 2) {
      const end = off + line.length;
      const next = SOURCE.indexOf('\n', end + 1);
      out.push({ prefix: SOURCE.slice(0, end), suffix: SOURCE.slice(next), middle: SOURCE.slice(end, next), single: false });
    }
    off += line.length + 1;
  }
  return out;
}

class BenchEngine extends CountingEngine {
  tasks(): string[] { return this.inner.tasks(); }
  trace(task: string, program: string): Promise<TraceResult> { return this.inner.trace(task, program); }
}

describe('CLI and benchmarks: the editor\'s completion path', function () {
  this.timeout(120_000);
  let engine: Engine;
  before(async () => { engine = await Engine.load(testModelDir()); });
  after(async () => { await engine?.dispose(); });

  it('takes the completion settings\' defaults from package.json', () => {
    const props = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).contributes.configuration.properties;
    for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
      assert.equal(value, props[`tinyfim.completions.${key}`]?.default, `tinyfim.completions.${key}`);
    }
  });

  it('bench asks the engine as the editor does and reports the Completer\'s answer', async () => {
    const sample = rows();
    assert.ok(sample.some((r) => r.single) && sample.some((r) => !r.single), 'the sample file has both kinds of rows');
    const counting = new BenchEngine(engine);
    // The provider's Completer with the editor's settings (no debounce, and a gate that shows everything: bench
    // reports the gate itself).
    const provider = new Completer(async () => engine, () => ({ ...DEFAULT_SETTINGS, debounceMs: 0, minConfidence: 0 }));
    for (const r of sample) {
      await engine.clearCache();
      const preds: Record<string, unknown>[] = [];
      const report = await runBench(counting, [r], {}, preds) as { fim: { settings: { timeBudgetMs: number } } };
      assert.equal(report.fim.settings.timeBudgetMs, DEFAULT_SETTINGS.timeBudgetMs);
      const req = counting.requests[counting.requests.length - 1];
      assert.equal(req.deadlineMs, DEFAULT_SETTINGS.timeBudgetMs);
      assert.equal(req.singleLine, r.single);
      assert.equal(req.maxNewTokens, r.single ? Math.min(SINGLE_LINE_MAX_TOKENS, DEFAULT_SETTINGS.maxNewTokens) : DEFAULT_SETTINGS.maxNewTokens);
      assert.ok(req.isFinal, 'the editor stops decoding once the post-processing cut is settled');
      assert.ok(r.prefix.endsWith(req.prefix), 'the prompt is the editor\'s window of the prefix');

      await engine.clearCache();
      provider.cache.clear();
      const o = await provider.complete(input(r.prefix + r.suffix, r.prefix.length, { trigger: 'automatic' }));
      assert.equal(preds[0].completion, o.completion?.insertText ?? '');
    }
  });

  it('flags override the settings: --budget-ms, --max-new-tokens, --lines, --mode, --no-heal reach the engine', async () => {
    const counting = new CountingEngine(engine);
    const a = parse(['--budget-ms', '1234', '--max-new-tokens', '7', '--lines', 'multi', '--mode', 'psm', '--no-heal'], COMPLETION_OPTIONS);
    const r = rows().find((x) => x.single)!;
    await new EditorPath(counting, pathOptionsFrom(a)).complete(r.prefix + r.suffix, r.prefix.length, 'automatic');
    const req = counting.requests[0];
    assert.equal(req.deadlineMs, 1234);
    assert.equal(req.maxNewTokens, 7);
    assert.equal(req.singleLine, false);
    assert.equal(req.mode, 'psm');
    assert.equal(req.heal, false);
    assert.throws(() => pathOptionsFrom(parse(['--lines', 'two'], COMPLETION_OPTIONS)), /--lines must be auto or single or multi/);
  });
});
