// End-to-end: "TinyFIM: Adapt the Model to This Workspace" from the installed .vsix (its own dist/trainer sources)
// on a workspace of real code (a few standard-library packages copied in), in code-server through Chromium. The
// venv step is skipped: tinyfim.train.pythonPath names this checkout's .venv, which has the fine-tune packages. The
// model in use is a copy of the trainer's test model (it has float weights), fine-tuned for 0.3 minutes. Screenshots
// in test-results/e2e/adapt/. Environment as for tinyfim.e2e.mjs (scripts/e2e.sh sets it).
// @ts-check
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { Editor, Session, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const PYTHON = path.join(REPO, '.venv', 'bin', 'python');
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end tests with scripts/e2e.sh`);
  return v;
};

/** Every file under dir (path, bytes, mtime): the workspace must be the same after the run. */
function digest(dir) {
  const h = createHash('sha256');
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(`${p}\0${st.mtimeMs}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

describe('Adapt the Model to This Workspace (installed .vsix, configured Python)', function () {
  this.timeout(240_000);
  const runDir = path.join(path.dirname(env('E2E_RUN_DIR')), 'adapt');
  const baseModel = path.join(runDir, 'base-model');
  const session = new Session({
    runDir: path.join(runDir, 'session'), artefacts: path.join(env('E2E_ARTEFACTS'), 'adapt'), codeServer: env('E2E_CODE_SERVER'),
    nodeBin: env('E2E_NODE_BIN'), vsix: env('E2E_VSIX'), workspaceFixture: path.join(HERE, 'workspace'),
    settings: { 'tinyfim.model.path': baseModel, 'tinyfim.train.pythonPath': PYTHON, 'tinyfim.adapt.minutes': 0.3 },
  });
  const editor = new Editor(session);
  let installedDir = '';

  before(async function () {
    this.timeout(300_000);
    const testModel = path.join(REPO, 'build', 'test-model');
    if (!existsSync(path.join(testModel, 'model.safetensors'))) throw new Error('build/test-model is missing: run bash scripts/test-model.sh');
    session.prepare();
    cpSync(testModel, baseModel, { recursive: true });
    // Real code to learn from: three standard-library packages the test model never trained on.
    const stdlib = execFileSync(PYTHON, ['-c', 'import sysconfig; print(sysconfig.get_paths()["stdlib"])'], { encoding: 'utf8' }).trim();
    for (const pkg of ['wsgiref', 'urllib', 'logging']) {
      cpSync(path.join(stdlib, pkg), path.join(session.workspace, 'project', pkg), { recursive: true, filter: (s) => !s.includes('__pycache__') });
    }
    installedDir = session.installExtension().folder;
    await session.startCodeServer();
    await session.launchBrowser();
    await session.openWorkbench();
    await session.waitForModel(); // the extension is active and its contributions are in the palette
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test && test.state === 'failed') await session.screenshot(`FAILED-${test.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
  });

  after(async function () {
    this.timeout(60_000);
    session.collectLogs();
    await session.close();
  });

  it('fine-tunes the model in use with the packaged trainer, shows before/after and switches on request', async function () {
    this.timeout(240_000);
    assert.ok(existsSync(path.join(installedDir, 'dist', 'trainer', 'finetune.py')), 'the package carries the trainer sources');
    const before = digest(session.workspace);
    await editor.runCommand('TinyFIM: Adapt the Model to This Workspace');
    await editor.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: '0.3 minutes' }).first().waitFor({ timeout: 20_000 });
    await session.screenshot('adapt-minutes');
    await editor.page.keyboard.press('Enter');
    const terminal = editor.page.locator('.terminal-wrapper .xterm-rows').first();
    await waitFor('the fine-tune progress in the terminal', async () => /fine-tune|held-out loss/.test(await terminal.innerText().catch(() => '')), 120_000, 1000);
    await session.screenshot('adapt-progress');

    // The toast's text is read as soon as it shows (a toast can hide itself later; its button stays in the center).
    const toast = editor.page.locator('.notifications-toasts .notification-toast', { hasText: /the model is adapted|adapting the model/ });
    const message = await waitFor('the fine-tune to end', async () => ((await toast.count()) > 0 ? toast.first().innerText() : ''), 180_000, 1000);
    await session.screenshot('adapt-finished');
    const text = (await terminal.innerText().catch(() => '')).replace(/\u00a0/g, ' ');
    assert.match(message, /the model is adapted/, `the fine-tune did not finish: ${message}\n${text}`);
    assert.match(message, /exact match \d+\.\d% → \d+\.\d%/);
    assert.match(message, /held-out loss \d\.\d{3} → \d\.\d{3}/);
    // It ran the package's copy of the trainer, in the installed extension's folder, and wrote no bytecode there.
    assert.match(session.tinyfimLog(), /adapting: .*-m trainer finetune .*\(in .*extensions.*dist\)/);
    assert.equal(readdirSync(path.join(installedDir, 'dist', 'trainer')).includes('__pycache__'), false);
    assert.equal(session.settings()['tinyfim.model.path'], baseModel, 'nothing switches before the user says so');

    const out = await editor.useNewModel('the model is adapted');
    const manifest = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    assert.equal(manifest.finetune.complete, true);
    // The weights kept are the best on held-out files (the base's if 18 s of training did not beat them; the
    // pytest of the fine-tune checks that the loss falls).
    assert.ok(manifest.finetune.after.loss <= manifest.finetune.before.loss, 'never worse than the base on held-out files');
    await session.screenshot('adapt-model-in-use');
    assert.equal(digest(session.workspace), before, 'the workspace files were only read');
  });
});
