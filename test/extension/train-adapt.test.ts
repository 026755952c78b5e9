// "Adapt the model to this workspace" (extension/train/adapt.ts): the Python it uses or sets up, the finetune
// command line, and the figures it reports.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  baseProblem, basePythonCandidates, describeResult, FINETUNE_MODULES, parseProbe, planAdapt, probeProblem, probePython,
  READY_FILE, readAdaptResult, shippedTrainer, venvDir, venvPython, venvReady, venvSteps,
} from '../../extension/train/adapt';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('adapt plan', () => {
  let tmp: string;
  beforeEach(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-adapt-')); });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('finds the trainer sources the package carries, and only when they are complete', () => {
    assert.equal(shippedTrainer(tmp), undefined);
    mkdirSync(path.join(tmp, 'dist', 'trainer'), { recursive: true });
    writeFileSync(path.join(tmp, 'dist', 'trainer', 'finetune.py'), '');
    assert.equal(shippedTrainer(tmp), undefined, 'no requirements file: not a usable copy');
    writeFileSync(path.join(tmp, 'dist', 'trainer', 'requirements-finetune.txt'), 'torch==2.11.0\n');
    assert.deepEqual(shippedTrainer(tmp), { cwd: path.join(tmp, 'dist'), requirements: path.join(tmp, 'dist', 'trainer', 'requirements-finetune.txt') });
    if (existsSync(path.join(ROOT, 'dist', 'extension.js'))) assert.ok(shippedTrainer(ROOT), 'esbuild.mjs copies dist/trainer');
  });

  it('needs a base model folder with float weights, and says so', () => {
    assert.match(baseProblem(tmp) ?? '', /not a model folder/);
    writeFileSync(path.join(tmp, 'model.json'), '{}');
    assert.match(baseProblem(tmp) ?? '', /this model has no float weights/);
    writeFileSync(path.join(tmp, 'model.safetensors'), '');
    assert.equal(baseProblem(tmp), undefined);
  });

  it('keeps one venv per pin set, usable only once its set-up finished', () => {
    const a = venvDir(tmp, 'torch==2.11.0\n');
    assert.equal(venvDir(tmp, 'torch==2.11.0\n'), a);
    assert.notEqual(venvDir(tmp, 'torch==2.12.0\n'), a);
    assert.ok(a.startsWith(tmp));
    assert.equal(venvPython(a, 'linux'), path.join(a, 'bin', 'python'));
    assert.equal(venvPython(a, 'win32'), path.join(a, 'Scripts', 'python.exe'));
    mkdirSync(path.join(a, 'bin'), { recursive: true });
    writeFileSync(path.join(a, 'bin', 'python'), '');
    assert.equal(venvReady(a, 'linux'), false, 'an interrupted set-up is not ready');
    writeFileSync(path.join(a, READY_FILE), '{}');
    assert.equal(venvReady(a, 'linux'), true);
  });

  it('creates the venv with python3 (py -3 on Windows) and installs the pinned requirements', () => {
    assert.deepEqual(basePythonCandidates('linux')[0], { command: 'python3', args: [] });
    assert.deepEqual(basePythonCandidates('win32')[0], { command: 'py', args: ['-3'] });
    const steps = venvSteps({ command: 'python3', args: [] }, '/s/py', '/ext/dist/trainer/requirements-finetune.txt', ['--index-url', 'X'], 'linux');
    assert.deepEqual(steps[0].args, ['-m', 'venv', '/s/py']);
    assert.equal(steps[1].command, '/s/py/bin/python');
    assert.deepEqual(steps[1].args.slice(0, 3), ['-m', 'pip', 'install']);
    assert.equal(steps[1].args[steps[1].args.indexOf('-r') + 1], '/ext/dist/trainer/requirements-finetune.txt');
    assert.deepEqual(steps[1].args.slice(-2), ['--index-url', 'X']);
  });

  it('judges a Python by its version and the modules it lacks', () => {
    assert.equal(parseProbe('garbage'), undefined);
    const ok = parseProbe('warning on stdout\n{"version": [3, 11, 7], "missing": []}\n');
    assert.deepEqual(ok, { version: [3, 11, 7], missing: [] });
    assert.equal(probeProblem(ok!), '');
    assert.match(probeProblem({ version: [3, 8, 10], missing: [] }), /3\.8\.10 is too old/);
    assert.match(probeProblem({ version: [3, 12, 0], missing: ['torch', 'onnx'] }), /lacks torch, onnx/);
    assert.equal(probeProblem({ version: [3, 12, 0], missing: ['torch'] }, false), '', 'a base for the venv needs no packages');
  });

  it('probes a real Python without importing torch, and a missing one as not usable', async function () {
    this.timeout(30_000);
    const venv = path.join(ROOT, '.venv', 'bin', 'python');
    if (existsSync(venv)) {
      const p = await probePython(venv);
      assert.ok(p, 'the checkout venv answers the probe');
      assert.deepEqual(p.missing, [], `the checkout venv has every fine-tune module (${FINETUNE_MODULES.join(', ')})`);
    }
    assert.equal(await probePython(path.join(tmp, 'no-such-python')), undefined);
  });

  it('plans a new model folder per run in the extension storage and fine-tunes the model in use', () => {
    const base = { python: '/py', trainerCwd: '/ext/dist', baseDir: '/models/default', codeDir: '/home/me/my project', minutes: 15, storageDir: tmp };
    const a = planAdapt({ ...base, now: new Date(2026, 11, 2, 10, 0, 0) });
    const b = planAdapt({ ...base, now: new Date(2026, 11, 2, 10, 0, 1) });
    assert.notEqual(a.outDir, b.outDir);
    assert.equal(a.workDir, b.workDir);
    assert.ok(a.outDir.startsWith(path.join(tmp, 'models')) && a.outDir.endsWith('-adapted-20261202-100000'), a.outDir);
    assert.deepEqual(a.args.slice(0, 3), ['-m', 'trainer', 'finetune']);
    const arg = (k: string) => a.args[a.args.indexOf(k) + 1];
    assert.equal(arg('--base'), '/models/default');
    assert.equal(arg('--code'), path.resolve('/home/me/my project'));
    assert.equal(arg('--minutes'), '15');
    assert.equal(arg('--out'), a.outDir);
    assert.equal(arg('--work'), a.workDir);
    assert.equal(a.cwd, '/ext/dist');
    assert.equal(a.env.PYTHONDONTWRITEBYTECODE, '1', 'no .pyc files in the extension folder');
  });

  it('the planned command line is one the trainer accepts', function () {
    this.timeout(60_000);
    const plan = planAdapt({ python: 'py', trainerCwd: ROOT, baseDir: tmp, codeDir: tmp, minutes: 0.5, storageDir: tmp, now: new Date() });
    // --help after the plan's own options: argparse validates every option name before printing help.
    const out = execFileSync(path.join(ROOT, '.venv', 'bin', 'python'), [...plan.args, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    for (const flag of ['--base', '--code', '--minutes', '--out', '--work']) assert.ok(out.includes(flag), flag);
  });

  it('reads the before/after figures of a finished run and says when it is not better', () => {
    assert.equal(readAdaptResult(tmp), undefined);
    const write = (before: number, after: number, complete = true) => writeFileSync(path.join(tmp, 'model.json'), JSON.stringify({
      finetune: { complete, stopped: complete ? 'time' : 'interrupted', seconds: 300,
        before: { loss: 3.2, exact_match: before }, after: { loss: 2.9, exact_match: after, lines: 200 } },
    }));
    write(0.12, 0.3);
    const r = readAdaptResult(tmp)!;
    assert.equal(r.complete, true);
    assert.equal(r.minutes, 5);
    const text = describeResult(r);
    assert.match(text, /12\.0% → 30\.0%/);
    assert.match(text, /3\.200 → 2\.900/);
    assert.match(text, /\(200\)/);
    assert.doesNotMatch(text, /not better/);
    write(0.3, 0.2);
    assert.match(describeResult(readAdaptResult(tmp)!), /not better than the current model/);
    write(0.3, 0.4, false);
    assert.equal(readAdaptResult(tmp)!.complete, false);
  });
});
