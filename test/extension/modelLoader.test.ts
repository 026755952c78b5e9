// Model loading for the editor: missing and corrupt model folders give a clear state and message (no throw,
// no retry storm), concurrent callers share one load, settings changes reload.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Completer } from '../../extension/completion/completer';
import { Engine, ModelLoadError } from '../../extension/engine';
import { ModelLoader, describeLoadError, resolveModelDir } from '../../extension/modelLoader';
import { testModelDir } from './engineHelpers';

/** Engine.load, counting calls. */
function countingLoad() {
  const counter = { calls: 0, load: (dir: string, opts: { threads?: number }) => { counter.calls++; return Engine.load(dir, opts); } };
  return counter;
}

describe('model loading for the editor', function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-loader-')); });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  function copyModel(name: string): string {
    const dir = path.join(tmp, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const f of readdirSync(testModelDir())) copyFileSync(path.join(testModelDir(), f), path.join(dir, f));
    return dir;
  }

  it('a missing folder: undefined engine, an error state with a fix, one attempt until retry()', async () => {
    const counter = countingLoad();
    const missing = path.join(tmp, 'nope');
    const loader = new ModelLoader('/bundled', undefined, counter.load);
    const states: string[] = [];
    loader.onState((s) => states.push(s.kind));
    loader.configure({ dir: missing, threads: 1 });
    const [a, b] = await Promise.all([loader.getEngine(), loader.getEngine()]);
    assert.equal(a, undefined);
    assert.equal(b, undefined);
    assert.equal(counter.calls, 1, 'concurrent callers share one attempt');
    const s = loader.state;
    assert.equal(s.kind, 'error');
    if (s.kind === 'error') {
      assert.equal(s.code, 'missing_file');
      assert.ok(s.message.includes(missing));
      assert.match(s.message, /Choose a folder/);
    }
    assert.equal(await loader.getEngine(), undefined);
    assert.equal(counter.calls, 1, 'a failure is remembered, not retried on every keystroke');
    loader.retry();
    await loader.getEngine();
    assert.equal(counter.calls, 2);
    assert.deepEqual(states.slice(0, 3), ['unloaded', 'loading', 'error']);
    await loader.dispose();
  });

  it('a corrupt model file or manifest: an error state naming the problem', async () => {
    const badOnnx = copyModel('bad-onnx');
    const bytes = readFileSync(path.join(badOnnx, 'model.onnx'));
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(path.join(badOnnx, 'model.onnx'), bytes);
    const badJson = copyModel('bad-json');
    writeFileSync(path.join(badJson, 'model.json'), readFileSync(path.join(badJson, 'model.json'), 'utf8').slice(0, 50));
    for (const [dir, code] of [[badOnnx, 'sha256_mismatch'], [badJson, 'bad_manifest']]) {
      const loader = new ModelLoader('/bundled');
      loader.configure({ dir, threads: 1 });
      assert.equal(await loader.getEngine(), undefined);
      const s = loader.state;
      assert.equal(s.kind, 'error');
      if (s.kind === 'error') assert.equal(s.code, code, s.message);
      await loader.dispose();
    }
  });

  it('completions on a missing model report no engine instead of failing', async () => {
    const loader = new ModelLoader('/bundled');
    loader.configure({ dir: path.join(tmp, 'nope'), threads: 1 });
    const c = new Completer(() => loader.getEngine());
    const o = await c.complete({
      docId: 'd', text: 'x = 1\n', offset: 6, languageId: 'python', indent: { insertSpaces: true, tabSize: 4 }, trigger: 'invoke',
    });
    assert.equal(o.skipped, 'no-engine');
    await loader.dispose();
  });

  it('a good model: concurrent callers get the same engine from one load; a settings change reloads', async () => {
    const counter = countingLoad();
    const loader = new ModelLoader('/bundled', undefined, counter.load);
    loader.configure({ dir: testModelDir(), threads: 1 });
    const engines = await Promise.all([loader.getEngine(), loader.getEngine(), loader.getEngine()]);
    assert.ok(engines[0]);
    assert.ok(engines.every((e) => e === engines[0]));
    assert.equal(counter.calls, 1);
    assert.equal(loader.state.kind, 'ready');
    loader.configure({ dir: testModelDir(), threads: 1 }); // unchanged: keeps the engine
    assert.equal(await loader.getEngine(), engines[0]);
    loader.configure({ dir: testModelDir(), threads: 2 });
    const again = await loader.getEngine();
    assert.ok(again && again !== engines[0]);
    assert.equal(counter.calls, 2);
    await assert.rejects(engines[0]!.complete({ prefix: 'x', suffix: '' }), /disposed/);
    await loader.dispose();
  });

  it('a settings change during a load gives the engine of the new settings', async () => {
    const loader = new ModelLoader('/bundled');
    loader.configure({ dir: path.join(tmp, 'nope'), threads: 1 });
    const first = loader.getEngine();
    loader.configure({ dir: testModelDir(), threads: 1 });
    const e = await first;
    assert.ok(e, 'the stale load hands over to the new one');
    assert.equal(e.dir, testModelDir());
    await loader.dispose();
  });

  it('messages: the bundled model suggests reinstalling; other errors still say what to do', () => {
    const err = new ModelLoadError('missing_file', 'model.onnx not found', '/x/model.onnx');
    assert.match(describeLoadError(err, '/ext/models/default', true).message, /reinstall TinyFIM/);
    assert.match(describeLoadError(new Error('boom'), '/m', false).message, /cannot load the model folder \/m: boom/);
    const dotted = new ModelLoadError('bad_onnx', 'Protobuf parsing failed.', '/m/model.onnx');
    for (const m of [describeLoadError(dotted, '/m', false).message, describeLoadError(new Error('disk full.'), '/m', false).message]) {
      assert.doesNotMatch(m, /\.\./, m);
      assert.match(m, /(failed|full)\. /, m);
    }
  });

  it('resolves the model path setting', () => {
    assert.equal(resolveModelDir('', '/ext/models/default'), '/ext/models/default');
    assert.equal(resolveModelDir('  ', '/b'), '/b');
    assert.equal(resolveModelDir('~/m', '/b'), path.join(os.homedir(), 'm'));
    assert.equal(resolveModelDir('models/x', '/b', '/ws'), path.join('/ws', 'models/x'));
    assert.equal(resolveModelDir('/abs/m', '/b', '/ws'), '/abs/m');
  });
});
