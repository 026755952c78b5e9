// Golden post-processing cases (test/extension/golden/postprocess/*.txt) plus per-filter checks.
import * as assert from 'node:assert/strict';
import { buildContext, replaceRange } from '../../extension/completion/context';
import {
  PIPELINE, balanceBrackets, cutIsFinal, dropEmpty, formatIndentation, limitScope, loopCut, postprocess,
  stopAtSuffixOverlap, trimTrailingWhitespace,
} from '../../extension/completion/postprocess';
import { CURSOR, loadGolden, splitCursor } from './golden';

const show = (s: string | undefined) => (s === undefined ? '(dropped)' : s.replace(/\t/g, '→'));

function ctxOf(doc: string, opts = {}) {
  const { text, offset } = splitCursor(doc);
  return buildContext(text, offset, opts);
}

describe('postprocess golden cases', () => {
  const cases = loadGolden();

  it('has at least 40 cases, each with a distinct name', () => {
    assert.ok(cases.length >= 40, `only ${cases.length} golden cases`);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  });

  for (const c of cases) {
    it(`${c.file}: ${c.name}`, () => {
      const { text, offset } = splitCursor(c.document);
      const ctx = buildContext(text, offset, c.options);
      const out = postprocess(ctx, c.completion);
      let actual: string | undefined;
      if (out !== undefined) {
        const { start, end } = replaceRange(ctx);
        actual = text.slice(0, start) + out + CURSOR + text.slice(end);
      }
      assert.equal(show(actual), show(c.expected));
    });
  }
});

describe('postprocess filters', () => {
  it('the pipeline names every filter once', () => {
    assert.equal(new Set(PIPELINE.map(([name]) => name)).size, PIPELINE.length);
  });

  it('postprocess is idempotent on its own output for single-line completions without closers', () => {
    const ctx = ctxOf('x = ║');
    const once = postprocess(ctx, 'compute(a, b)  ')!;
    assert.equal(postprocess(ctx, once), once);
  });

  it('stopAtSuffixOverlap leaves completions alone when the line ends with closers', () => {
    assert.equal(stopAtSuffixOverlap(ctxOf('f(║)'), 'a)'), 'a)');
  });

  it('balanceBrackets does not touch text without brackets', () => {
    assert.equal(balanceBrackets(ctxOf('x = ║'), 'a + b'), 'a + b');
  });

  it('limitScope ignores single-line mode', () => {
    const ctx = ctxOf('def f():\n    x = ║');
    assert.equal(limitScope(ctx, 'a\nb'), 'a\nb');
  });

  it('formatIndentation converts a tab-indented body to the editor spaces', () => {
    const ctx = ctxOf('if x:║', { indent: { insertSpaces: true, tabSize: 2 } });
    assert.equal(formatIndentation(ctx, '\n\ty()'), '\n  y()');
  });

  it('trimTrailingWhitespace keeps a leading line break', () => {
    assert.equal(trimTrailingWhitespace(ctxOf('def f():║'), '\n  x  \n\n'), '\n  x');
  });

  it('dropEmpty drops whitespace-only text and keeps real text', () => {
    assert.equal(dropEmpty(ctxOf('x = ║'), ' \n\t'), undefined);
    assert.equal(dropEmpty(ctxOf('x = ║'), '1'), '1');
  });
});

describe('early stop while decoding (cutIsFinal)', () => {
  it('stopping at the first settled prefix shows what the whole completion shows, on every golden case', () => {
    let stopped = 0;
    for (const c of loadGolden()) {
      const { text, offset } = splitCursor(c.document);
      const ctx = buildContext(text, offset, c.options);
      const full = postprocess(ctx, c.completion);
      for (let n = 1; n <= c.completion.length; n++) {
        const part = c.completion.slice(0, n);
        if (!cutIsFinal(ctx, part)) continue;
        assert.equal(show(postprocess(ctx, part)), show(full), `${c.file}: ${c.name}, stopped after ${JSON.stringify(part)}`);
        stopped++;
        break;
      }
    }
    assert.ok(stopped >= 6, `only ${stopped} golden cases stop early`);
  });

  it('is not final while a multi-line completion stays in its block, and final once a line leaves it', () => {
    const ctx = ctxOf('def f(x):\n    ║\n');
    assert.equal(cutIsFinal(ctx, 'y = x\n    z = y\n'), false);
    assert.equal(cutIsFinal(ctx, 'y = x\n    z = y\nw'), false); // the last line is not complete yet
    assert.equal(cutIsFinal(ctx, 'y = x\n    z = y\nw = 1\n'), true);
  });

  it('single-line completions are final only once they loop', () => {
    const ctx = ctxOf('x = f(║)');
    assert.equal(cutIsFinal(ctx, 'a, b\n'), false); // the single-line stop is the decoder's job
    assert.equal(cutIsFinal(ctx, 'a, k=None, k=None, k=None'), true);
  });

  it('loopCut ends a looping line after the first copy of its unit and ignores short repeats and rules', () => {
    assert.equal(loopCut('foo(k=None, k=None, k=None, k=None)'), 10); // `foo(k=None`
    assert.equal(loopCut('x = self/self/self/self/self'), 8); // `x = self`
    assert.equal(loopCut('[0, 0, 0, 0]'), -1);
    assert.equal(loopCut('# ==============================='), -1);
    assert.equal(loopCut('a, b = b, a'), -1);
  });
});
