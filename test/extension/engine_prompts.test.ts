import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseManifest } from '../../extension/engine/manifest';
import { buildFimPrompt, buildTracePrompt, keepHead, keepTail } from '../../extension/engine/prompts';
import { Tokenizer } from '../../extension/engine/tokenizer';
import { python, testModelDir } from './engineHelpers';

describe('engine prompts', () => {
  const dir = testModelDir();
  const tok = new Tokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')));
  const manifest = parseManifest(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const lines = Array.from({ length: 60 }, (_, i) => `    value_${i} = compute(${i}, "text")\n`);
  const prefix = 'def f():\n' + lines.slice(0, 40).join('') + '    resu';
  const suffix = 'lt = 1\n' + lines.slice(40).join('');

  it('PSM and SPM follow the manifest templates exactly when everything fits', () => {
    const p = buildFimPrompt(manifest, tok, 'a = 1\nb = ', '\nc = 3\n', { mode: 'psm', budget: 1000 });
    assert.deepEqual(p.ids, [1, ...tok.encode('a = 1\nb = '), 3, ...tok.encode('\nc = 3\n'), 2]);
    const s = buildFimPrompt(manifest, tok, 'a = 1\nb = ', '\nc = 3\n', { mode: 'spm', budget: 1000 });
    assert.deepEqual(s.ids, [1, 3, ...tok.encode('\nc = 3\n'), 2, ...tok.encode('a = 1\nb = ')]);
  });

  it('respects the token budget, trims at line boundaries, keeps the text next to the cursor', () => {
    for (const budget of [40, 100, 200]) {
      const p = buildFimPrompt(manifest, tok, prefix, suffix, { mode: 'psm', budget });
      assert.ok(p.ids.length <= budget, `${p.ids.length} > ${budget}`);
      assert.ok(prefix.endsWith(p.prefix) && suffix.startsWith(p.suffix));
      assert.ok(p.prefix.endsWith('    resu'));
      assert.ok(p.prefix === prefix || prefix[prefix.length - p.prefix.length - 1] === '\n', 'prefix cut at a line start');
      assert.ok(p.suffix === '' || p.suffix.endsWith('\n') || p.suffix === suffix, 'suffix cut at a line end');
      assert.ok(tok.encode(p.prefix).length >= tok.encode(p.suffix).length, 'the prefix gets the larger share');
    }
  });

  it('cuts a single over-long line token-wise', () => {
    const long = 'x = ' + '1 + '.repeat(300);
    const t = keepTail(long, 20, tok);
    assert.equal(t.ids.length, 20);
    const h = keepHead(long, 20, tok);
    assert.equal(h.ids.length, 20);
    assert.ok(long.startsWith(h.text));
  });

  it('SPM keeps the suffix first, so typing extends the prompt', () => {
    const a = buildFimPrompt(manifest, tok, 'x = fo', 'o\n', { mode: 'spm', budget: 500 }).ids;
    const b = buildFimPrompt(manifest, tok, 'x = foo', '\n', { mode: 'spm', budget: 500 }).ids;
    const c = buildFimPrompt(manifest, tok, 'x = fo', '\n', { mode: 'spm', budget: 500 }).ids;
    const d = buildFimPrompt(manifest, tok, 'x = foo', '\n', { mode: 'spm', budget: 500 }).ids;
    assert.notDeepEqual(a.slice(0, 3), b.slice(0, 3).concat([-1]));
    let k = 0;
    while (k < c.length && c[k] === d[k]) k++;
    assert.ok(k >= c.length - 2, 'only the last token or two change');
  });

  it('the trainer\'s evaluation builds the same FIM prompt (trainer/evaluate.py fim_prompt, the contract\'s renderer)', () => {
    const cases = [
      { prefix, suffix, budget: 60 }, { prefix, suffix, budget: 150 }, { prefix: 'x = ', suffix, budget: 80 },
      { prefix, suffix: '\n', budget: 90 }, { prefix: 'a = 1\n', suffix: 'b = 2\n', budget: 1000 },
    ];
    const py = python<number[][]>(`
import json, sys
from trainer.evaluate import fim_prompt, load_text_encoder
args = json.load(sys.stdin)
manifest = json.load(open(args["dir"] + "/model.json"))
encode, _ = load_text_encoder(args["dir"] + "/tokenizer.json")
print(json.dumps([fim_prompt(manifest["prompts"], manifest["special_tokens"], encode, c["prefix"], c["suffix"], c["budget"])
                  for c in args["cases"]]))
`, { dir, cases });
    cases.forEach((c, i) => {
      assert.deepEqual(py[i], buildFimPrompt(manifest, tok, c.prefix, c.suffix, { budget: c.budget }).ids, `case ${i}`);
    });
  });

  it('trace prompts follow the task template; too-long programs are refused, not cut', () => {
    const ids = buildTracePrompt(manifest, tok, 'output', 'print(1)\n', 100);
    assert.deepEqual(ids, [5, ...tok.encode('print(1)\n'), 11]);
    assert.equal(buildTracePrompt(manifest, tok, 'output', 'print(1)\n'.repeat(500), 100), null);
    assert.throws(() => buildTracePrompt(manifest, tok, 'nope', 'x', 100), /unknown task/);
  });
});
