// Model-folder fuzzing (bench/fuzz.ts) on a seeded subset: every broken copy of the test model gives a clear error
// or loads and completes, and the bundled model keeps completing, loaded throughout and after switching back.
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokenCopy, completes, fuzzCases, judge, unclear } from '../../bench/fuzz';
import { ModelLoader } from '../../extension/modelLoader';
import { ROOT, testModelDir } from './engineHelpers';

describe('model-folder fuzzing (20 seeded cases)', function () {
  this.timeout(120_000);
  let base: string;
  let other: string | undefined;
  let tmp: string;
  let editor: ModelLoader;
  let stays: ModelLoader;
  before(function () {
    base = testModelDir();
    // Another model for "the tokenizer / graph of another model": the shipped one, or the test model beside it.
    other = [path.join(ROOT, 'models', 'default'), path.join(ROOT, 'build', 'test-model')]
      .find((d) => path.resolve(d) !== path.resolve(base) && existsSync(path.join(d, 'model.json')));
    if (!other) this.skip(); // needs a second model (build/test-model: bash scripts/test-model.sh)
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-fuzz-'));
    editor = new ModelLoader(base);
    stays = new ModelLoader(base);
    stays.configure({ dir: base, threads: 1 });
  });
  after(async () => {
    await editor?.dispose();
    await stays?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('a clear error or a model that completes, each; the bundled model still completes', async () => {
    const cases = fuzzCases(7, 20);
    assert.equal(new Set(cases.map((c) => c.kind)).size, 10, 'every kind of break is in the subset');
    const verdicts: Record<string, number> = {};
    for (const [i, c] of cases.entries()) {
      const r = await judge(c, brokenCopy(c, i, base, other!, tmp), editor);
      verdicts[r.verdict] = (verdicts[r.verdict] ?? 0) + 1;
      assert.ok(r.verdict === 'clear error' || r.verdict === 'loads and completes', `${c.what}: ${r.verdict}: ${r.message}`);
      assert.ok(await completes(() => stays.getEngine()), `the bundled model stopped completing after: ${c.what}`);
    }
    assert.ok(verdicts['clear error'] >= 15, JSON.stringify(verdicts));
    editor.configure({ dir: base, threads: 1 }); // "Use Bundled Model"
    assert.ok(await completes(() => editor.getEngine()), 'completions after switching back to the bundled model');
  });

  it('a corrupt n_layer (2^31) is a short error at once, not a process out of memory', async () => {
    const dir = brokenCopy({ kind: 'n_layer', what: 'n_layer 2^31', apply: (d) => {
      const m = JSON.parse(readFileSync(path.join(d, 'model.json'), 'utf8'));
      m.architecture.n_layer = 2 ** 31;
      writeFileSync(path.join(d, 'model.json'), JSON.stringify(m));
    } }, 999, base, other!, tmp);
    const loader = new ModelLoader(base);
    loader.configure({ dir, threads: 1 });
    const t0 = performance.now();
    assert.equal(await loader.getEngine(), undefined);
    const s = loader.state;
    assert.ok(s.kind === 'error' && s.code === 'io_mismatch', JSON.stringify(s));
    assert.match(s.message, /n_layer is 2147483648/);
    assert.equal(unclear(s.message), undefined);
    assert.ok(performance.now() - t0 < 5000);
    await loader.dispose();
  });
});
