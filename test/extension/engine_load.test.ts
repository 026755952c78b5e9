import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, ModelLoadError } from '../../extension/engine';
import { testModelDir } from './engineHelpers';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary manifest fields
type Manifest = Record<string, any>;

/** A copy of the test model in a temp folder, broken by `breakIt`. */
function brokenCopy(breakIt: (dir: string, manifest: Manifest) => void): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-broken-'));
  cpSync(testModelDir(), dir, { recursive: true });
  const mf = path.join(dir, 'model.json');
  const manifest = JSON.parse(readFileSync(mf, 'utf8'));
  breakIt(dir, manifest);
  const untouched = existsSync(mf) && readFileSync(mf, 'utf8').trim().startsWith('{');
  if (untouched) writeFileSync(mf, JSON.stringify(manifest, null, 1));
  return dir;
}

function rehash(dir: string, manifest: Manifest, name: string): void {
  const buf = readFileSync(path.join(dir, name));
  manifest.files[name] = { sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length };
}

async function expectLoadError(dir: string, code: string, pattern: RegExp): Promise<void> {
  try {
    const e = await Engine.load(dir);
    await e.dispose();
  } catch (err) {
    assert.ok(err instanceof ModelLoadError, `expected ModelLoadError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return;
  } finally {
    if (dir.startsWith(os.tmpdir())) rmSync(dir, { recursive: true, force: true });
  }
  assert.fail(`loading ${dir} should fail with ${code}`);
}

describe('engine model loading', function () {
  this.timeout(60000);

  it('loads the test model', async () => {
    const e = await Engine.load(testModelDir());
    assert.deepEqual(e.tasks().sort(), Object.keys(e.manifest.prompts.tasks).sort());
    await e.dispose();
  });

  it('reports a missing folder, missing model.json, missing tokenizer.json', async () => {
    await expectLoadError(path.join(os.tmpdir(), 'tinyfim-does-not-exist'), 'missing_file', /does not exist/);
    await expectLoadError(brokenCopy((d) => unlinkSync(path.join(d, 'model.json'))), 'missing_file', /model\.json is missing/);
    await expectLoadError(brokenCopy((d) => unlinkSync(path.join(d, 'tokenizer.json'))), 'missing_file', /tokenizer\.json is missing/);
  });

  it('reports a model.json that is not JSON or misses fields', async () => {
    await expectLoadError(brokenCopy((d) => writeFileSync(path.join(d, 'model.json'), 'not json {')), 'bad_manifest', /not valid JSON/);
    await expectLoadError(brokenCopy((_d, m) => { delete m.architecture.n_layer; }), 'bad_manifest', /n_layer/);
    await expectLoadError(brokenCopy((_d, m) => { m.format = 'other'; }), 'bad_manifest', /format/);
  });

  it('reports a truncated model.onnx and a wrong sha256', async () => {
    await expectLoadError(brokenCopy((d) => truncateSync(path.join(d, 'model.onnx'), 1000)), 'sha256_mismatch', /truncated/);
    await expectLoadError(brokenCopy((_d, m) => { m.files['model.onnx'].sha256 = '0'.repeat(64); }), 'sha256_mismatch', /sha256/);
  });

  it('reports a truncated model.onnx whose manifest was updated to match (onnxruntime fails, the process lives)', async () => {
    await expectLoadError(brokenCopy((d, m) => { truncateSync(path.join(d, 'model.onnx'), 4096); rehash(d, m, 'model.onnx'); }), 'bad_onnx', /onnxruntime/);
    await expectLoadError(brokenCopy((d, m) => { writeFileSync(path.join(d, 'model.onnx'), 'garbage'); rehash(d, m, 'model.onnx'); }), 'bad_onnx', /model\.onnx/);
  });

  it('reports a wrong vocabulary size and missing inputs', async () => {
    await expectLoadError(brokenCopy((_d, m) => { m.architecture.vocab_size += 1; }), 'vocab_mismatch', /vocab_size/);
    await expectLoadError(brokenCopy((_d, m) => { m.onnx.inputs = m.onnx.inputs.filter((n: string) => n !== 'position_ids'); }), 'io_mismatch', /position_ids/);
    await expectLoadError(brokenCopy((_d, m) => {
      m.architecture.n_layer += 1;
      for (const k of ['key', 'value']) { m.onnx.inputs.push(`past_key_values.${m.architecture.n_layer - 1}.${k}`); m.onnx.outputs.push(`present.${m.architecture.n_layer - 1}.${k}`); }
    }), 'io_mismatch', /n_layer/);
  });

  it('reports a broken tokenizer.json', async () => {
    await expectLoadError(brokenCopy((d, m) => { writeFileSync(path.join(d, 'tokenizer.json'), '{"oops":'); rehash(d, m, 'tokenizer.json'); }), 'tokenizer_error', /not valid JSON/);
    await expectLoadError(brokenCopy((d, m) => {
      const t = JSON.parse(readFileSync(path.join(d, 'tokenizer.json'), 'utf8'));
      t.added_tokens[0].content = '<|eos|>';
      writeFileSync(path.join(d, 'tokenizer.json'), JSON.stringify(t));
      rehash(d, m, 'tokenizer.json');
    }), 'tokenizer_error', /<\|endoftext\|>/);
  });
});
