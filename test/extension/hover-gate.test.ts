// When the hover predicts at all (extension/hover/gate.ts): tinypy groups on their first line, selections, and
// nothing on ordinary code.
import * as assert from 'node:assert/strict';
import { hoverTarget, programForModel } from '../../extension/hover/gate';

const DOC = [
  'import json',                       // 0
  'LIMIT = 10',                        // 1
  '',                                  // 2
  'a = 5',                             // 3
  'b = 7',                             // 4
  'if a < b :',                        // 5
  '\tprint(a + b)',                    // 6
  'for i in range(2, 8, 3) :',         // 7
  '\tprint(i)',                        // 8
  '',                                  // 9
  'def parse(text):',                  // 10
  '    return json.loads(text)',       // 11
  '',                                  // 12
  'data = parse("[1]")',               // 13
  'print(data)',                       // 14
];
const at = (line: number, character = 1) => ({ line, character });
const sel = (a: number, b: number, endChar = 0) => ({ start: { line: a, character: 0 }, end: { line: b, character: endChar } });

describe('hover gate', () => {
  it('predicts on the first line of a tinypy group that prints, for the whole group', () => {
    const t = hoverTarget(DOC, at(3), { maxLines: 40 });
    assert.equal(t?.kind, 'predict');
    assert.deepEqual(t?.kind === 'predict' ? [t.snippet.startLine, t.snippet.endLine, t.snippet.source] : [], [3, 8, 'group']);
  });

  it('shows nothing on the group\'s other lines (the card would cover the code above)', () => {
    for (const line of [4, 5, 6, 7, 8]) assert.equal(hoverTarget(DOC, at(line), { maxLines: 40 }), undefined, `line ${line}`);
  });

  it('shows nothing on ordinary code: imports, definitions, calls, strings, a lone constant, blank lines', () => {
    for (const line of [0, 1, 2, 9, 10, 11, 13, 14]) assert.equal(hoverTarget(DOC, at(line), { maxLines: 40 }), undefined, `line ${line}`);
  });

  it('a selection asks explicitly: predicted when it fits tinypy, one line naming the constructs when not', () => {
    const fits = hoverTarget(DOC, at(5), { maxLines: 40, selection: sel(5, 7) });
    assert.equal(fits?.kind, 'predict');
    assert.equal(fits?.kind === 'predict' ? fits.snippet.text : '', 'if a < b :\n\tprint(a + b)');
    const other = hoverTarget(DOC, at(13), { maxLines: 40, selection: sel(13, 15) });
    assert.deepEqual(other?.kind === 'outside' ? other.constructs : other, ['calls other than print/range', 'strings']);
  });

  it('inside a selection but below its first line: points at the first line', () => {
    assert.deepEqual(hoverTarget(DOC, at(6), { maxLines: 40, selection: sel(5, 7) }), { kind: 'first-line', line: 5 });
    // A selection that starts on a blank line answers on its first line of code.
    assert.equal(hoverTarget(DOC, at(3), { maxLines: 40, selection: sel(2, 5) })?.kind, 'predict');
    assert.deepEqual(hoverTarget(DOC, at(2), { maxLines: 40, selection: sel(2, 5) }), { kind: 'first-line', line: 3 });
  });

  it('says a selection is too long instead of cutting it', () => {
    assert.deepEqual(hoverTarget(DOC, at(3), { maxLines: 2, selection: sel(3, 8, 9) }), { kind: 'too-long', lines: 6, maxLines: 2 });
  });

  it('a hover outside the selection follows the rules without one', () => {
    assert.equal(hoverTarget(DOC, at(3), { maxLines: 40, selection: sel(13, 15) })?.kind, 'predict');
    assert.equal(hoverTarget(DOC, at(0), { maxLines: 40, selection: sel(13, 15) }), undefined);
  });

  it('asks the model about the program without comment and blank lines (they run nothing)', () => {
    assert.equal(programForModel('# setup\na = 1\n\nif a < 2 :\n\t# say it\n\tprint(a)\n'), 'a = 1\nif a < 2 :\n\tprint(a)');
    assert.equal(programForModel('x = 1\nprint(x)'), 'x = 1\nprint(x)');
  });
});
