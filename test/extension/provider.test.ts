// The provider's path on real Python documents with the real engine and the test model: range, single vs
// multi-line request, post-processing of the model's own output, cancellation, typing-through without a model
// call, gating. The test model writes poor code, so these tests assert behaviour, never specific completions.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  Completer, DEFAULT_SETTINGS, SINGLE_LINE_MAX_TOKENS, dropPartialLastLine, type CompleterSettings, type Outcome,
} from '../../extension/completion/completer';
import { buildContext } from '../../extension/completion/context';
import { postprocess } from '../../extension/completion/postprocess';
import { Engine } from '../../extension/engine';
import { CountingEngine, INDENT, ROOT, input, testModelDir } from './engineHelpers';

/** Real Python files of this repository. */
const SOURCE = readFileSync(path.join(ROOT, 'trainer', 'fim.py'), 'utf8');
const SOURCE2 = readFileSync(path.join(ROOT, 'trainer', 'tokenizer.py'), 'utf8');


/** Offsets at the end of lines matching `re`. */
function lineEnds(text: string, re: RegExp): number[] {
  const out: number[] = [];
  let off = 0;
  for (const line of text.split('\n')) {
    if (re.test(line)) out.push(off + line.length);
    off += line.length + 1;
  }
  return out;
}

describe('inline completion provider path (real engine, test model)', function () {
  this.timeout(120_000);
  let engine: Engine;
  let counting: CountingEngine;
  const settings: CompleterSettings = { ...DEFAULT_SETTINGS, debounceMs: 40 };
  const make = (sampling = false) =>
    new Completer(async () => counting, () => settings,
      sampling ? { request: { strategy: { kind: 'top_p', p: 0.95, temperature: 1.0, seed: 7 } } } : {});

  before(async () => {
    engine = await Engine.load(testModelDir());
    counting = new CountingEngine(engine);
  });
  after(async () => { await engine?.dispose(); });

  /** Checks an outcome against the model's own raw answer: post-processing applied, explicit range. */
  function checkAgainstRaw(o: Outcome, text: string, offset: number): void {
    const ctx = buildContext(text, offset, { indent: INDENT, maxLines: settings.maxLines });
    const raw = counting.results[counting.results.length - 1];
    // The first of the model's answers (a manual trigger asks for several) that post-processing keeps.
    const want = (raw.candidates ?? [raw]).map((a) => postprocess(ctx, dropPartialLastLine(a.text, a.stopReason, ctx.mode)))
      .find((t) => t !== undefined);
    if (o.completion) {
      assert.equal(o.completion.source, 'model');
      assert.equal(o.completion.insertText, want);
      assert.equal(o.completion.start, offset);
      assert.equal(o.completion.end, offset + ctx.closers.length);
      assert.equal(o.completion.mode, ctx.mode);
      for (const line of o.completion.insertText.split('\n')) assert.equal(line, line.trimEnd(), 'trailing whitespace');
      if (ctx.mode === 'single') assert.ok(!o.completion.insertText.includes('\n'));
    } else {
      assert.equal(o.skipped, 'empty', `unexpected skip: ${o.skipped}`);
      assert.equal(want, undefined);
    }
  }

  it('asks single-line at the end of a statement, multi-line after a block opener and on a blank line', async () => {
    const c = make(true);
    const single = lineEnds(SOURCE, /^\s+\w+ = \w/).slice(0, 3);
    const opener = lineEnds(SOURCE, /^\s*(def|for|if) .*:$/).slice(0, 3);
    assert.ok(single.length && opener.length, 'the sample file has statements and blocks');
    for (const off of single) {
      const n = counting.calls;
      const o = await c.complete(input(SOURCE, off));
      assert.equal(counting.calls, n + 1);
      const req = counting.requests[counting.requests.length - 1];
      assert.equal(req.singleLine, true);
      assert.ok(req.maxNewTokens! <= SINGLE_LINE_MAX_TOKENS);
      checkAgainstRaw(o, SOURCE, off);
    }
    for (const off of opener) {
      const o = await c.complete(input(SOURCE, off));
      const req = counting.requests[counting.requests.length - 1];
      assert.equal(req.singleLine, false);
      assert.equal(req.maxNewTokens, settings.maxNewTokens);
      checkAgainstRaw(o, SOURCE, off);
      // The same place as a blank line inside the new block (asking the model: a suggestion that began with that
      // line break would otherwise be typed through from the cache).
      c.cache.clear();
      const blank = SOURCE.slice(0, off) + '\n        ' + SOURCE.slice(off);
      const o2 = await c.complete(input(blank, off + 9));
      assert.equal(counting.requests[counting.requests.length - 1].singleLine, false);
      checkAgainstRaw(o2, blank, off + 9);
    }
  });

  it('replaces auto-closed closers: the range covers them and any suggestion keeps them', async () => {
    const c = make(true);
    for (const [i, line] of ['print(', 'value = compute(', 'items = [', 'name = f("'].entries()) {
      const closers = line.endsWith('("') ? '")' : line.endsWith('[') ? ']' : ')';
      const text = `def main():\n    ${line}${closers}\n    return ${i}\n`;
      const offset = text.indexOf(line) + line.length;
      const o = await c.complete(input(text, offset));
      checkAgainstRaw(o, text, offset);
      if (o.completion) {
        assert.equal(o.completion.end - o.completion.start, closers.length);
        // The closers survive accepting: the suggestion re-adds them or types them itself (a model may go on after
        // them, `f("x") + y`).
        assert.ok(o.completion.insertText.includes(closers), JSON.stringify(o.completion.insertText));
      }
    }
  });

  it('serves typing-through from the cache with no model call; asks the model after other text or the whole suggestion', async () => {
    const c = make(true);
    const candidates = [SOURCE, SOURCE2].flatMap((text) => lineEnds(text, /^\s+\w+ = \S/).map((offset) => ({ text, offset })));
    let found: { text: string; offset: number; insert: string } | undefined;
    for (const { text, offset: off } of candidates.slice(0, 60)) {
      const o = await c.complete(input(text, off));
      if (o.completion && o.completion.insertText.length >= 2 && !/\s/.test(o.completion.insertText[0])) {
        found = { text, offset: off, insert: o.completion.insertText };
        break;
      }
    }
    assert.ok(found, 'the test model gave no usable single-line suggestion in 60 places');
    const { text, offset, insert } = found;
    const calls = counting.calls;
    const typed = text.slice(0, offset) + insert[0] + text.slice(offset);
    const t0 = performance.now();
    const o = await c.complete(input(typed, offset + 1, { trigger: 'automatic' }));
    assert.equal(counting.calls, calls, 'a typing-through hit makes no engine call');
    assert.equal(o.completion?.source, 'cache');
    assert.equal(o.completion?.insertText, insert.slice(1));
    assert.equal(o.completion?.start, offset + 1);
    assert.ok(performance.now() - t0 < 20, 'no debounce, no model');
    // Typing something else asks the model again.
    const other = insert[0] === '#' ? '@' : '#';
    await c.complete(input(text.slice(0, offset) + other + text.slice(offset), offset + 1, { trigger: 'automatic' }));
    assert.equal(counting.calls, calls + 1);
    // Having typed the whole suggestion, the model is asked for what comes next.
    const all = text.slice(0, offset) + insert + text.slice(offset);
    await c.complete(input(all, offset + insert.length, { trigger: 'invoke' }));
    assert.equal(counting.calls, calls + 2);
  });

  it('cancels: before the model call (no engine call), during the debounce, and a request superseded by a newer one', async () => {
    const c = make();
    const off = lineEnds(SOURCE, /^\s+\w+ = \w/)[0];
    const calls = counting.calls;
    const aborted = new AbortController();
    aborted.abort();
    assert.equal((await c.complete(input(SOURCE, off, { signal: aborted.signal }))).skipped, 'cancelled');

    const slow = new Completer(async () => counting, () => ({ ...settings, debounceMs: 300 }));
    const ac = new AbortController();
    const pending = slow.complete(input(SOURCE, off, { trigger: 'automatic', signal: ac.signal }));
    setTimeout(() => ac.abort(), 20);
    const t0 = performance.now();
    assert.equal((await pending).skipped, 'cancelled');
    assert.ok(performance.now() - t0 < 200, 'cancelled at once, not after the debounce');
    assert.equal(counting.calls, calls, 'no engine call for cancelled requests');

    const first = c.complete(input(SOURCE, off));
    const second = c.complete(input(SOURCE, off + 0));
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.skipped, 'cancelled');
    assert.equal(a.stopReason, 'superseded');
    assert.notEqual(b.skipped, 'cancelled');
  });

  it('stops a running model call when the editor cancels the request', async () => {
    const c = make(true);
    const off = lineEnds(SOURCE, /^\s*def .*:$/)[0];
    const ac = new AbortController();
    c.onEvent((e) => { if (e.kind === 'busy') setTimeout(() => ac.abort(), 1); });
    const o = await c.complete(input(SOURCE, off, { signal: ac.signal }));
    assert.equal(o.skipped, 'cancelled');
    assert.ok(o.stopReason === 'cancelled', `stop reason ${o.stopReason}`);
  });

  it('does not call the model for huge files or huge lines', async () => {
    const c = new Completer(async () => counting, () => ({ ...settings, maxFileSizeKB: 4, maxLineLength: 50 }));
    const calls = counting.calls;
    const huge = SOURCE.repeat(Math.ceil(5000 / SOURCE.length));
    assert.equal((await c.complete(input(huge, 100))).skipped, 'file-too-large');
    const long = `x = [${'1, '.repeat(40)}]\n`;
    assert.equal((await c.complete(input(long, 10))).skipped, 'line-too-long');
    assert.equal(counting.calls, calls);
  });

  it('reports no engine (and does not throw) when the model is missing', async () => {
    const c = new Completer(async () => undefined, () => settings);
    const o = await c.complete(input(SOURCE, 10));
    assert.equal(o.skipped, 'no-engine');
  });
});
