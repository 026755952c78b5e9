// Snippet selection rules (extension/hover/snippet.ts) on realistic Python documents.
import * as assert from 'node:assert/strict';
import { dedent, selectSnippet, topLevelStatements } from '../../extension/hover/snippet';

const DOC = [
  '"""A module docstring',
  '',
  'spanning lines."""',
  'import os',
  'import sys',
  '',
  '@functools.lru_cache(maxsize=None)',
  'def fib(n):',
  '    if n < 2:',
  '        return n',
  '',
  '    # a comment inside the body, after a blank line',
  '    return fib(n - 1) + fib(n - 2)',
  '',
  '',
  'class Point:',
  '    def __init__(self, x, y):',
  '        self.x = x',
  '',
  '        self.y = y',
  '',
  'a = 5',
  'b = [1,',
  '2,',
  '3]',
  'if a < 3 :',
  '\tprint(a)',
  'elif a > 4 :',
  '\tprint(b)',
  'else :',
  '\tprint(a + 1)',
  '# trailing comment',
  '',
  'for i in range(2, 8, 3) :',
  '\tprint(i)',
  '',
  's = """',
  'x = 1',
  '',
  'y = 2"""',
  'print(s)',
];
const line = (text: string): number => {
  const i = DOC.indexOf(text);
  assert.ok(i >= 0, text);
  return i;
};
const at = (l: number, character = 0) => ({ line: l, character });

describe('hover snippet selection', () => {
  it('finds top-level statements with bodies, clauses, decorators, brackets and strings', () => {
    const spans = topLevelStatements(DOC).map((s) => [s.start, s.end, s.definition]);
    assert.deepEqual(spans, [
      [0, 2, false], // the docstring spans three lines, one of them blank
      [3, 3, false], [4, 4, false],
      [6, 12, true], // decorator + def, blank line and comment inside the body
      [15, 19, true],
      [21, 21, false], [22, 24, false], // the list continues over three lines
      [25, 30, false], // if/elif/else is one statement; the trailing comment is not part of it
      [33, 34, false],
      [36, 39, false], // a triple-quoted string with a blank line and code-like text inside
      [40, 40, false],
    ]);
  });

  it('uses the enclosing top-level def, decorator included, from anywhere in its body', () => {
    for (const l of [line('def fib(n):'), line('        return n'), line('    return fib(n - 1) + fib(n - 2)'), 10]) {
      const s = selectSnippet(DOC, at(l, 4), { maxLines: 40 });
      assert.ok(s, `line ${l}`);
      assert.equal(s.source, 'definition');
      assert.equal(s.startLine, 6);
      assert.equal(s.endLine, 12);
      assert.ok(s.text.startsWith('@functools.lru_cache'));
      assert.ok(s.text.endsWith('return fib(n - 1) + fib(n - 2)'));
    }
  });

  it('uses the enclosing top-level class for a hover inside a method', () => {
    const s = selectSnippet(DOC, at(line('        self.x = x'), 10), { maxLines: 40 });
    assert.equal(s?.source, 'definition');
    assert.equal(s?.startLine, line('class Point:'));
    assert.equal(s?.endLine, line('        self.y = y'));
  });

  it('groups contiguous top-level statements, bodies included, up to blank lines', () => {
    const s = selectSnippet(DOC, at(line('\tprint(b)'), 2), { maxLines: 40 });
    assert.ok(s);
    assert.equal(s.source, 'group');
    assert.equal(s.truncated, false);
    assert.equal(s.startLine, line('a = 5'));
    assert.equal(s.endLine, line('\tprint(a + 1)'));
    assert.equal(s.text, DOC.slice(21, 31).join('\n'));
    // The same group from its first line and from the `else :` clause.
    assert.deepEqual(selectSnippet(DOC, at(line('a = 5')), { maxLines: 40 }), s);
    assert.deepEqual(selectSnippet(DOC, at(line('else :')), { maxLines: 40 }), s);
  });

  it('groups the docstring with the imports right after it, up to the blank line', () => {
    const s = selectSnippet(DOC, at(line('import sys')), { maxLines: 40 });
    assert.equal(s?.text, DOC.slice(0, 5).join('\n'));
    // From the blank line inside the docstring too.
    assert.deepEqual(selectSnippet(DOC, at(1), { maxLines: 40 }), s);
  });

  it('gives nothing on blank lines and comments between statements', () => {
    assert.equal(selectSnippet(DOC, at(line('# trailing comment')), { maxLines: 40 }), undefined);
    assert.equal(selectSnippet(DOC, at(5), { maxLines: 40 }), undefined);
    assert.equal(selectSnippet(DOC, at(13), { maxLines: 40 }), undefined);
  });

  it('keeps blank lines inside a triple-quoted string in the statement', () => {
    const s = selectSnippet(DOC, at(line('x = 1')), { maxLines: 40 });
    assert.equal(s?.startLine, line('s = """'));
    assert.equal(s?.endLine, line('print(s)'));
  });

  it('bounds a group by the line limit, keeping the hovered statement and earlier ones first', () => {
    const s = selectSnippet(DOC, at(line('\tprint(b)')), { maxLines: 9 });
    assert.ok(s);
    assert.equal(s.truncated, true);
    // The if statement (6 lines) plus the 3-line list before it; `a = 5` no longer fits.
    assert.equal(s.startLine, line('b = [1,'));
    assert.equal(s.endLine, line('\tprint(a + 1)'));
    assert.ok(s.endLine - s.startLine + 1 <= 9);
    // A statement longer than the limit on its own gives nothing.
    assert.equal(selectSnippet(DOC, at(line('\tprint(b)')), { maxLines: 5 }), undefined);
    assert.equal(selectSnippet(DOC, at(line('def fib(n):')), { maxLines: 6 }), undefined);
  });

  it('uses the selection when the hover is inside it, dedented, without a final column-0 line', () => {
    const selection = { start: at(line('    if n < 2:')), end: at(line('    # a comment inside the body, after a blank line')) };
    const s = selectSnippet(DOC, at(line('        return n'), 3), { maxLines: 40, selection });
    assert.ok(s);
    assert.equal(s.source, 'selection');
    assert.equal(s.text, 'if n < 2:\n    return n');
    assert.equal(s.startLine, line('    if n < 2:'));
    assert.equal(s.endLine, line('        return n') + 1);
  });

  it('uses a partial-line selection as is, and ignores a selection the hover is outside of', () => {
    const l = line('for i in range(2, 8, 3) :');
    const selection = { start: at(l, 15), end: at(l, 22) };
    assert.equal(selectSnippet(DOC, at(l, 17), { maxLines: 40, selection })?.text, '2, 8, 3');
    const outside = selectSnippet(DOC, at(l, 2), { maxLines: 40, selection });
    assert.equal(outside?.source, 'group');
    assert.equal(outside?.text, 'for i in range(2, 8, 3) :\n\tprint(i)');
    // An empty selection is no selection.
    assert.equal(selectSnippet(DOC, at(l, 2), { maxLines: 40, selection: { start: at(l, 2), end: at(l, 2) } })?.source, 'group');
  });

  it('bounds a selection by the line limit and ignores whitespace-only selections', () => {
    const selection = { start: at(0), end: at(DOC.length - 1, 8) };
    assert.equal(selectSnippet(DOC, at(3), { maxLines: 10, selection }), undefined);
    assert.equal(selectSnippet(DOC, at(3), { maxLines: 100, selection })?.text.split('\n').length, DOC.length);
    const blank = { start: at(13), end: at(14) };
    assert.equal(selectSnippet(DOC, at(13), { maxLines: 10, selection: blank }), undefined);
  });

  it('selects a whole tinypy program written without blank lines', () => {
    const program = ['q = 3', 'for q in range(6, 12, 3) :', '\tprint(q)'];
    const s = selectSnippet(program, at(2, 3), { maxLines: 40 });
    assert.equal(s?.text, program.join('\n'));
  });

  it('dedents by the common prefix only', () => {
    assert.deepEqual(dedent(['\t\ta = 1', '', '\t\tif a:', '\t\t\tprint(a)']), ['a = 1', '', 'if a:', '\tprint(a)']);
    assert.deepEqual(dedent(['  x', '\ty']), ['  x', '\ty']);
  });
});
