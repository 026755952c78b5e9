// End-to-end, first open: the workspace `bash scripts/main.sh` opens (a scratch copy of the samples, with its
// settings), untrusted, in a code-server with VS Code's default settings otherwise (Workspace Trust on, quick
// suggestions on). TinyFIM must work there without any click: ghost text while typing, also beside the open
// suggest widget, and hovers; running code and training must say why they are off. Screenshots in
// test-results/e2e/untrusted/. Environment as for tinyfim.e2e.mjs (scripts/e2e.sh sets it).
// @ts-check
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Editor, Session, sleep } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end tests with scripts/e2e.sh`);
  return v;
};

// Lines typed at the end of sample.py until one gets ghost text. This session keeps the default confidence gate, so
// the first ones are lines the shipped model completes above it there (checked with the CLI's complete --json).
const LINES = ['if __name__ == ', 'import ', 'for i in range(', 'found = ', 'print('];
// Prefixes typed on a new line of sample.py; each starts a word of the file, so the suggest widget offers it.
const PREFIXES = ['fou', 'fil', 'dir', 'na'];

describe('First open: the scripts/main.sh workspace in Restricted Mode, default settings', function () {
  this.timeout(240_000);
  const runDir = path.join(path.dirname(env('E2E_RUN_DIR')), 'untrusted');
  const demo = path.join(runDir, 'demo');
  /** @type {Session} */
  let session;
  /** @type {Editor} */
  let editor;

  before(async function () {
    this.timeout(300_000);
    // The workspace and settings exactly as scripts/main.sh makes them.
    const userSettings = path.join(runDir, 'main-settings.json');
    const made = spawnSync('bash', [path.join(REPO, 'scripts', 'main.sh'), '--demo-workspace', demo, '--demo-settings', userSettings],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(made.status, 0, made.stderr);
    const settings = JSON.parse(readFileSync(userSettings, 'utf8'));
    session = new Session({
      runDir: path.join(runDir, 'session'), artefacts: path.join(env('E2E_ARTEFACTS'), 'untrusted'), codeServer: env('E2E_CODE_SERVER'),
      nodeBin: env('E2E_NODE_BIN'), vsix: env('E2E_VSIX'), workspaceFixture: demo, trust: true, baseSettings: false,
      // Only what a slow shared test machine needs on top: more time for the model (the log is at debug level: harness).
      settings: { ...settings, 'tinyfim.completions.timeBudgetMs': 3000, 'telemetry.telemetryLevel': 'off' },
    });
    editor = new Editor(session);
    session.prepare();
    session.installExtension();
    await session.startCodeServer();
    await session.launchBrowser();
    await session.openWorkbench();
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test && test.state === 'failed') await session.screenshot(`FAILED-${test.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
  });

  after(async function () {
    this.timeout(60_000);
    session?.collectLogs();
    await session?.close();
  });

  it('opens in Restricted Mode without a dialog, with TinyFIM active and saying what is limited', async () => {
    const page = editor.page;
    await page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.monaco-dialog-box').count(), 0, 'no trust dialog to click');
    await editor.openFile('sample.py');
    const item = page.locator('.statusbar-item', { hasText: 'TinyFIM' }).first();
    await item.waitFor({ timeout: 60_000 });
    await item.hover();
    await page.locator('.monaco-hover', { hasText: 'Restricted Mode: completions and predictions work' }).first().waitFor({ timeout: 15_000 });
    await session.screenshot('restricted-mode-status');
    await page.keyboard.press('Escape');
  });

  /** A new empty line at the end of the file, the cursor on it. */
  async function freshLine() {
    const page = editor.page;
    await page.keyboard.press('Escape');
    await editor.goToEnd();
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Delete');
  }

  async function undoLine() {
    await editor.page.keyboard.press('Escape');
    await editor.page.keyboard.press('Escape');
    await editor.page.keyboard.press('End'); // past an auto-closed bracket
    await editor.page.keyboard.press('Shift+Home');
    await editor.page.keyboard.press('Delete');
  }

  it('shows ghost text while typing, with no click first', async () => {
    await editor.openFile('sample.py');
    let ghost = '';
    for (const line of LINES) {
      await freshLine();
      await editor.page.keyboard.type(line, { delay: 60 });
      ghost = await editor.waitForGhost(15_000).catch(() => '');
      if (ghost) break;
      await undoLine();
    }
    assert.ok(ghost.trim(), `ghost text after typing one of ${JSON.stringify(LINES)}`);
    await session.screenshot('ghost-text-first-open');
    await undoLine();
  });

  it('shows ghost text beside the open suggest widget, extending its selected item', async () => {
    const page = editor.page;
    await editor.openFile('sample.py');
    const widget = page.locator('.editor-widget.suggest-widget.visible');
    let found;
    for (const prefix of PREFIXES) {
      await freshLine();
      await page.keyboard.type(prefix, { delay: 60 });
      // Default settings: quick suggestions open the widget on their own; ask once more in case they were slow.
      if (!(await widget.isVisible())) await page.keyboard.press('Control+Space');
      await widget.waitFor({ timeout: 10_000 }).catch(() => {});
      // Automatic ghost text when the model is confident enough; else Alt+\ asks (the widget stays open).
      let ghost = await editor.waitForGhost(4000).catch(() => '');
      if (!ghost && (await widget.isVisible())) {
        await page.keyboard.press('Alt+Backslash');
        ghost = await editor.waitForGhost(15_000).catch(() => '');
      }
      const label = await page.locator('.suggest-widget.visible .monaco-list-row.focused .label-name').first().innerText().catch(() => '');
      if (ghost && label && (await widget.isVisible())) {
        found = { prefix, ghost, label: label.trim() };
        break;
      }
      await undoLine();
    }
    assert.ok(found, 'ghost text beside the suggest widget after one of the prefixes');
    await session.screenshot('ghost-text-with-suggest-widget');
    // The ghost text continues the selected item: its first characters are the rest of that item's name.
    assert.ok(found.label.toLowerCase().startsWith(found.prefix), JSON.stringify(found));
    assert.ok(found.ghost.startsWith(found.label.slice(found.prefix.length)), `ghost ${JSON.stringify(found.ghost)} extends ${found.label}`);
    await undoLine();
  });

  it('predicts in a hover on tinypy code and offers Workspace Trust instead of running it; nothing on ordinary code', async () => {
    const page = editor.page;
    await editor.openFile('sample.py');
    await page.locator('.editor-instance .view-line', { hasText: 'import os' }).locator('span span').first().hover();
    await sleep(2500);
    assert.equal(await page.locator('.monaco-hover', { hasText: 'TinyFIM' }).count(), 0, 'no TinyFIM hover on `import os`');
    await editor.openFile('tinypy.py');
    await page.locator('.editor-instance .view-line', { hasText: 'a = 5' }).locator('span span').first().hover();
    const card = page.locator('.monaco-hover', { hasText: 'TinyFIM trace prediction' }).first();
    await card.waitFor({ timeout: 60_000 });
    const text = await card.innerText();
    assert.match(text, /Predicted output|not sure/);
    assert.match(text, /needs a trusted folder/);
    assert.equal(await card.locator('a', { hasText: 'Run and compare' }).count(), 0, 'no run link in Restricted Mode');
    await session.screenshot('hover-restricted-mode');
    await page.keyboard.press('Escape');
  });

  it('says why training is off in Restricted Mode', async () => {
    await editor.runCommand('TinyFIM: Train a Model on This Workspace');
    const toast = editor.page.locator('.notifications-toasts .notification-toast', { hasText: 'off in Restricted Mode' });
    await toast.first().waitFor({ timeout: 20_000 });
    assert.match(await toast.first().innerText(), /Manage Workspace Trust/);
    await session.screenshot('training-restricted-mode');
  });
});
