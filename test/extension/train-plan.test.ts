// "Train a model on this workspace" (extension/train/plan.ts): finding the trainer, presets, the command line.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { folderKey, isTrainerRoot, listPresets, modelReady, planTraining, shellLine, stamp, toTerminalText, trainerPython } from '../../extension/train/plan';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('train plan', () => {
  let tmp: string;
  beforeEach(() => { tmp = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-train-')); });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('recognises this repository as a trainer checkout and lists its presets smallest first', () => {
    assert.equal(isTrainerRoot(ROOT), true);
    assert.equal(isTrainerRoot(tmp), false);
    const names = listPresets(ROOT).map((p) => p.name);
    assert.ok(names.includes('test') && names.includes('small'), names.join(','));
    assert.ok(names.indexOf('test') < names.indexOf('small'));
    assert.ok(listPresets(ROOT).every((p) => p.about.length > 0), 'every shipped preset has an `about` line');
  });

  it('reads presets from a checkout, tolerating a broken file', () => {
    mkdirSync(path.join(tmp, 'trainer', 'presets'), { recursive: true });
    writeFileSync(path.join(tmp, 'trainer', '__main__.py'), '');
    writeFileSync(path.join(tmp, 'trainer', 'presets', 'zeta.json'), '{"about": "custom"}');
    writeFileSync(path.join(tmp, 'trainer', 'presets', 'small.json'), '{not json');
    assert.equal(isTrainerRoot(tmp), true);
    assert.deepEqual(listPresets(tmp), [{ name: 'small', about: '(unreadable preset file)' }, { name: 'zeta', about: 'custom' }]);
  });

  it('uses the setting, then the checkout venv, then python3', () => {
    assert.equal(trainerPython(tmp, ' /opt/py/bin/python ', 'linux'), '/opt/py/bin/python');
    assert.equal(trainerPython(tmp, '', 'linux'), 'python3');
    assert.equal(trainerPython(tmp, '', 'win32'), 'python');
    mkdirSync(path.join(tmp, '.venv', 'bin'), { recursive: true });
    writeFileSync(path.join(tmp, '.venv', 'bin', 'python'), '');
    assert.equal(trainerPython(tmp, '', 'linux'), path.join(tmp, '.venv', 'bin', 'python'));
  });

  it('plans a resumable work folder per workspace and preset and a new model folder per run', () => {
    const base = { trainerRoot: ROOT, python: 'py', corpusDir: '/home/me/my project', storageDir: tmp };
    const a = planTraining({ ...base, preset: 'small', now: new Date(2026, 10, 22, 3, 4, 5) });
    const b = planTraining({ ...base, preset: 'small', now: new Date(2026, 10, 22, 9, 0, 0) });
    const c = planTraining({ ...base, preset: 'test', now: new Date(2026, 10, 22, 3, 4, 5) });
    assert.equal(a.workDir, b.workDir);
    assert.notEqual(a.workDir, c.workDir);
    assert.notEqual(a.outDir, b.outDir);
    assert.ok(a.outDir.endsWith('-small-20261122-030405'), a.outDir);
    assert.ok(a.workDir.startsWith(tmp) && a.outDir.startsWith(tmp));
    assert.deepEqual(a.args.slice(0, 5), ['-m', 'trainer', 'pipeline', '--preset', 'small']);
    assert.equal(a.args[a.args.indexOf('--code') + 1], path.resolve('/home/me/my project'));
    assert.equal(a.args[a.args.indexOf('--model') + 1], a.outDir);
    assert.equal(a.cwd, ROOT);
    const d = planTraining({ ...base, preset: 'small', now: new Date(), extraArgs: ['--steps', '5'] });
    assert.deepEqual(d.args.slice(-2), ['--steps', '5']);
    assert.notEqual(folderKey('/a/proj'), folderKey('/b/proj'));
    assert.match(folderKey('/home/me/my project'), /^my_project-[0-9a-f]{8}$/);
    assert.equal(stamp(new Date(2026, 0, 2, 3, 4, 5)), '20260102-030405');
  });

  it('the planned command line is one the trainer accepts', () => {
    const plan = planTraining({ trainerRoot: ROOT, python: 'py', corpusDir: tmp, preset: 'test', storageDir: tmp, now: new Date() });
    const venv = path.join(ROOT, '.venv', 'bin', 'python');
    // --help after the plan's own options: argparse validates every option name before printing help.
    const out = execFileSync(venv, [...plan.args, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    for (const flag of ['--preset', '--code', '--workdir', '--model']) assert.ok(out.includes(flag), flag);
  });

  it('quotes the shown command for a shell and converts newlines for the terminal', () => {
    assert.equal(shellLine('/usr/bin/python3', ['-m', 'trainer', '--code', "/home/me/it's here"]),
      "/usr/bin/python3 -m trainer --code '/home/me/it'\\''s here'");
    assert.equal(toTerminalText('a\nb\r\nc\rd'), 'a\r\nb\r\nc\rd');
  });

  it('a model is ready only when all three files are there', () => {
    for (const f of ['model.json', 'model.onnx']) writeFileSync(path.join(tmp, f), '');
    assert.equal(modelReady(tmp), false);
    writeFileSync(path.join(tmp, 'tokenizer.json'), '');
    assert.equal(modelReady(tmp), true);
  });
});
