// The provider's vscode-free decision logic: context and mode, gating, prompt window, debounce, typing-through
// cache, statistics.
import * as assert from 'node:assert/strict';
import { TypingCache } from '../../extension/completion/cache';
import { DEFAULT_SETTINGS, dropPartialLastLine, promptWindow, skipReason } from '../../extension/completion/completer';
import { buildContext, replaceRange } from '../../extension/completion/context';
import { Debouncer, sleep } from '../../extension/completion/debounce';
import { Stats, type StatsStore } from '../../extension/completion/stats';
import { splitCursor } from './golden';

function ctxOf(doc: string, opts = {}) {
  const { text, offset } = splitCursor(doc);
  return buildContext(text, offset, opts);
}

describe('completion context', () => {
  const modes: [string, 'single' | 'multi'][] = [
    ['x = foo(║)', 'single'],
    ['x = ║ + 1', 'single'],
    ['x = fo║', 'single'],
    ['def f():\n    ║', 'multi'],
    ['def f(a, b):║', 'multi'],
    ['║', 'multi'],
    ['class A:  # base║', 'multi'],
    ['if x:║ pass', 'single'],
  ];
  for (const [doc, mode] of modes) {
    it(`chooses ${mode}-line for ${JSON.stringify(doc)}`, () => assert.equal(ctxOf(doc).mode, mode));
  }

  it('javascript opens a block at { and python does not', () => {
    assert.equal(ctxOf('function f() {║', { languageId: 'javascript' }).mode, 'multi');
    assert.equal(ctxOf('d = {║', { languageId: 'python' }).mode, 'single');
  });

  it('replaces a line end made only of closers, and nothing otherwise', () => {
    const closers: [string, string][] = [
      ['print(║)', ')'], ['f(g("║"))', '"))'], ['if f(║):', '):'], ['x = [║]  ', ']'],
      ['f(║, 1)', ''], ['x = ║', ''], ['s = "║" + t', ''],
    ];
    for (const [doc, want] of closers) {
      const ctx = ctxOf(doc);
      assert.equal(ctx.closers, want, doc);
      const { start, end } = replaceRange(ctx);
      assert.equal(start, ctx.offset);
      assert.equal(end - start, want.length);
    }
  });

  it('works on CRLF documents: line parts exclude \\r, the model text uses \\n', () => {
    const ctx = ctxOf('a = 1\r\nprint(║)\r\nb = 2\r\n');
    assert.equal(ctx.eol, '\r\n');
    assert.equal(ctx.lineSuffix, ')');
    assert.equal(ctx.closers, ')');
    assert.equal(ctx.prefix, 'a = 1\nprint(');
    assert.equal(ctx.suffix, ')\nb = 2\n');
    assert.equal(ctx.prevLine, 'a = 1');
    assert.deepEqual(ctx.nextLines.slice(0, 1), ['b = 2']);
  });
});

describe('when to complete', () => {
  const s = { ...DEFAULT_SETTINGS, maxFileSizeKB: 1, maxLineLength: 20 };
  it('skips huge files and huge lines, for every trigger', () => {
    assert.equal(skipReason('x'.repeat(2000), 5, 'invoke', s), 'file-too-large');
    assert.equal(skipReason(`a = 1\n${'y'.repeat(30)}\n`, 10, 'invoke', s), 'line-too-long');
    assert.equal(skipReason(`a = 1\n${'y'.repeat(30)}\n`, 2, 'invoke', s), undefined);
  });
  it('skips the middle of a word on automatic triggers only', () => {
    assert.equal(skipReason('value = 1', 3, 'automatic', s), 'mid-word');
    assert.equal(skipReason('value = 1', 3, 'invoke', s), undefined);
    assert.equal(skipReason('value = 1', 5, 'automatic', s), undefined);
    assert.equal(skipReason('f(value)', 2, 'automatic', s), undefined);
  });
});

describe('prompt window', () => {
  const big = Array.from({ length: 3000 }, (_, i) => `line_${i} = compute(${i})`).join('\n') + '\n';
  it('is bounded and made of whole lines plus the cursor line', () => {
    const ctx = buildContext(big + 'x = ', big.length + 4);
    const w = promptWindow(ctx, 256);
    assert.ok(w.prefix.length <= 256 * 8 + 40, `prefix of ${w.prefix.length} characters`);
    assert.ok(w.prefix.endsWith('\nx = '));
    assert.ok(w.prefix.startsWith('line_'));
  });
  it('keeps the same start while the user types on a line (cache-friendly)', () => {
    const ctx1 = buildContext(big + 'x = ', big.length + 4);
    const ctx2 = buildContext(big + 'x = comp', big.length + 8);
    const a = promptWindow(ctx1, 256).prefix;
    const b = promptWindow(ctx2, 256).prefix;
    assert.equal(b.slice(0, a.length), a);
  });
  it('keeps small documents whole and cuts long suffixes at a line end', () => {
    const ctx = buildContext('a = 1\n' + big, 6);
    const w = promptWindow(ctx, 256);
    assert.equal(w.prefix, 'a = 1\n');
    assert.ok(w.suffix.length <= 1024 && w.suffix.endsWith('\n'));
  });
});

describe('partial last line', () => {
  it('drops the cut last line of a multi-line answer stopped by the limits', () => {
    assert.equal(dropPartialLastLine('a = 1\n    b = fo', 'max_tokens', 'multi'), 'a = 1');
    assert.equal(dropPartialLastLine('a = 1\n    b = fo', 'deadline', 'multi'), 'a = 1');
    assert.equal(dropPartialLastLine('a = 1\n    b = 2', 'eos', 'multi'), 'a = 1\n    b = 2');
    assert.equal(dropPartialLastLine('a = fo', 'max_tokens', 'single'), 'a = fo');
  });
});

describe('adaptive debounce', () => {
  it('never waits on a manual trigger', () => {
    const d = new Debouncer(60);
    assert.equal(d.delay(0, 'invoke'), 0);
    assert.equal(d.delay(10, 'invoke'), 0);
  });
  it('waits about a key interval while typing fast, the base when slow, half after a pause', () => {
    const d = new Debouncer(60);
    assert.equal(d.delay(0, 'automatic'), 30); // first request: after a "pause"
    let t = 0;
    let last = 0;
    for (let i = 0; i < 10; i++) last = d.delay((t += 150), 'automatic');
    assert.ok(last > 60 && last <= 250, `fast typing: ${last}`);
    const slow = new Debouncer(60);
    slow.delay(0, 'automatic');
    for (let i = 1; i < 10; i++) last = slow.delay(i * 600, 'automatic');
    assert.equal(last, 60);
    assert.equal(slow.delay(10_000, 'automatic'), 30);
  });
  it('a base of 0 turns it off', () => {
    const d = new Debouncer(0);
    for (let t = 0; t < 1000; t += 100) assert.equal(d.delay(t, 'automatic'), 0);
  });
  it('sleep ends early, with false, when cancelled', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const p = sleep(5000, ac.signal);
    setTimeout(() => ac.abort(), 10);
    assert.equal(await p, false);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(await sleep(5), true);
  });
});

describe('typing-through cache', () => {
  const doc = 'import os\n\ndef main():\n    path = os.║\n    return path\n';
  it('serves the rest of the suggestion as the user types it', () => {
    const cache = new TypingCache();
    const ctx = ctxOf(doc);
    cache.add('a', ctx, 'path.join(root)', 7);
    const typed = ctxOf(doc.replace('║', 'pa║'));
    assert.deepEqual(cache.lookup('a', typed), { text: 'th.join(root)', id: 7, typed: 2 });
    assert.equal(cache.lookup('a', ctx)?.text, 'path.join(root)'); // asked again at the same place
  });
  it('misses when the typed text differs, in another document, or when the text after changed', () => {
    const cache = new TypingCache();
    cache.add('a', ctxOf(doc), 'path.join(root)', 1);
    assert.equal(cache.lookup('a', ctxOf(doc.replace('║', 'pb║'))), undefined);
    assert.equal(cache.lookup('b', ctxOf(doc.replace('║', 'pa║'))), undefined);
    assert.equal(cache.lookup('a', ctxOf(doc.replace('║', 'pa║').replace('return path', 'return None'))), undefined);
    assert.equal(cache.lookup('a', ctxOf(doc.replace('os.║', 'o║'))), undefined); // deleted a character
  });
  it('follows auto-closing: typing a quote that the editor closes keeps the hit, with the new range', () => {
    const cache = new TypingCache();
    const before = ctxOf('print(║)\n');
    cache.add('a', before, '"hello")', 3);
    const after = ctxOf('print("║")\n'); // the user typed " and the editor added the closing one
    assert.equal(after.closers, '")');
    assert.equal(cache.lookup('a', after)?.text, 'hello")');
  });
  it('uses the document end of line and expires old entries', () => {
    const cache = new TypingCache(4, 1000);
    const ctx = ctxOf('def f():║\r\n');
    cache.add('a', ctx, '\r\n    return 1', 1, 0);
    assert.equal(cache.lookup('a', ctx, 10)?.text, '\r\n    return 1');
    assert.equal(cache.lookup('a', ctx, 5000), undefined);
  });
  it('holds at most its capacity', () => {
    const cache = new TypingCache(3);
    for (let i = 0; i < 10; i++) cache.add(`d${i}`, ctxOf(doc), 'x', i);
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup('d0', ctxOf(doc)), undefined);
    assert.equal(cache.lookup('d9', ctxOf(doc))?.id, 9);
  });
});

describe('acceptance statistics', () => {
  class MapStore implements StatsStore {
    readonly map = new Map<string, unknown>();
    get<T>(key: string): T | undefined { return this.map.get(key) as T | undefined; }
    update(key: string, value: unknown): Promise<void> { this.map.set(key, value); return Promise.resolve(); }
  }
  it('counts shown and accepted, survives a restart through the store, and resets', async () => {
    const store = new MapStore();
    const s = new Stats(store);
    s.shown(); s.shown(); s.shown(); s.shown();
    s.accepted(12);
    s.modelCall(40); s.modelCall(80);
    await s.flush();
    const again = new Stats(store);
    assert.equal(again.data.shown, 4);
    assert.equal(again.data.accepted, 1);
    assert.equal(again.data.acceptedChars, 12);
    assert.equal(again.acceptRate, 0.25);
    assert.match(again.summary().join('\n'), /accepted: 1 \(25\.0%\)/);
    assert.equal(s.latency(50), 40);
    assert.equal(s.latency(95), 80);
    await again.reset();
    assert.equal(new Stats(store).data.shown, 0);
  });
});
