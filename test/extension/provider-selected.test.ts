// Ghost text beside an open suggest widget (extension/completion/selected.ts): the item must extend the selected
// suggestion the way VS Code checks it (same range start, range end at or after the suggestion's, text starting
// with the suggestion's text), and accepting it must give the same document as accepting the suggestion and then
// the model's completion. Pure mapping cases, then the real completer and engine on real code.
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Completer, DEFAULT_SETTINGS } from '../../extension/completion/completer';
import { applySelected, extendSelected, type SelectedItem } from '../../extension/completion/selected';
import { Engine } from '../../extension/engine';
import { ROOT, testModelDir } from './engineHelpers';

const edit = (text: string, start: number, end: number, insert: string) => text.slice(0, start) + insert + text.slice(end);

/** VS Code's rule (singleTextEditAugments) plus: both ways of accepting give the same text. */
function assertExtends(text: string, item: SelectedItem, applied: { text: string }, completion: { insertText: string; start: number; end: number },
  mapped: { insertText: string; start: number; end: number }): void {
  assert.equal(mapped.start, item.start);
  assert.ok(mapped.end >= item.end);
  assert.ok(mapped.insertText.startsWith(item.text));
  assert.equal(edit(text, mapped.start, mapped.end, mapped.insertText), edit(applied.text, completion.start, completion.end, completion.insertText));
}

describe('ghost text with the suggest widget open', () => {
  it('maps a completion of the applied text onto the real document', () => {
    const text = 'for name in os.li\nprint(1)';
    const item = { start: 15, end: 17, text: 'listdir' };
    const applied = applySelected(text, item);
    assert.deepEqual(applied, { text: 'for name in os.listdir\nprint(1)', offset: 22 });
    const completion = { insertText: '(root):', start: 22, end: 22 };
    const mapped = extendSelected(applied, item, completion);
    assert.deepEqual(mapped, { insertText: 'listdir(root):', start: 15, end: 17 });
    assertExtends(text, item, applied, completion, mapped!);
  });

  it('keeps the replaced closers after the cursor, and a suggestion that replaces a whole word', () => {
    // `pri|nt)`: the suggestion replaces the word `print` (range past the cursor); the completion replaces the `)`.
    const text = 'x = (pri)';
    const item = { start: 5, end: 8, text: 'print' };
    const applied = applySelected(text, item);
    const completion = { insertText: '(x))', start: applied.offset, end: applied.offset + 1 };
    const mapped = extendSelected(applied, item, completion)!;
    assert.deepEqual(mapped, { insertText: 'print(x))', start: 5, end: 9 });
    assertExtends(text, item, applied, completion, mapped);
  });

  it('refuses a completion that starts before the applied cursor (it could not extend the suggestion)', () => {
    const text = 'os.pa';
    const item = { start: 3, end: 5, text: 'path' };
    const applied = applySelected(text, item);
    assert.equal(extendSelected(applied, item, { insertText: 'x', start: applied.offset - 1, end: applied.offset }), undefined);
  });

  describe('with the real completer and engine', function () {
    this.timeout(120_000);
    let engine: Engine;
    before(async () => { engine = await Engine.load(testModelDir()); });
    after(async () => { await engine?.dispose(); });

    it('every completion it returns beside a selected suggestion extends that suggestion', async () => {
      const completer = new Completer(async () => engine, () => ({ ...DEFAULT_SETTINGS, debounceMs: 0 }));
      const source = readFileSync(path.join(ROOT, 'trainer', 'fim.py'), 'utf8');
      // Cut identifiers in half where a language server would offer the whole name.
      const cases: Array<{ text: string; item: SelectedItem }> = [];
      for (const m of source.matchAll(/\b([A-Za-z_]{3})([A-Za-z_]{3,})\(/g)) {
        if (cases.length >= 12) break;
        const start = m.index!;
        const text = source.slice(0, start + 3) + source.slice(start + m[0].length - 1);
        cases.push({ text, item: { start, end: start + 3, text: m[1] + m[2] } });
      }
      assert.ok(cases.length >= 6);
      let extended = 0;
      for (const { text, item } of cases) {
        const applied = applySelected(text, item);
        const outcome = await completer.complete({
          docId: 'file:///fim.py', ...applied, languageId: 'python', indent: { insertSpaces: true, tabSize: 4 }, trigger: 'invoke',
        });
        if (!outcome.completion) continue;
        const mapped = extendSelected(applied, item, outcome.completion);
        assert.ok(mapped, `completion at ${outcome.completion.start} starts before the applied cursor ${applied.offset}`);
        assertExtends(text, item, applied, outcome.completion, mapped);
        extended++;
      }
      assert.ok(extended > 0, 'the model completed at least one of the positions');
    });
  });
});
