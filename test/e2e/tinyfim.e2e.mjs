// End-to-end: the packaged .vsix installed into a real VS Code (code-server), used through the browser the way a
// user does. Run by scripts/e2e.sh, which builds the package and passes (environment):
//   E2E_CODE_SERVER  code-server executable      E2E_NODE_BIN  the Node 24 bin folder it runs with
//   E2E_VSIX         the package to install      E2E_RUN_DIR   scratch folder (workspace, user data, extensions)
//   E2E_ARTEFACTS    screenshots and logs (test-results/e2e)
// The model is whatever the package bundles; a minute-trained test model writes poor code, so the tests assert
// that ghost text appears and that Tab inserts exactly what was shown, never specific text.
// @ts-check
import * as assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Editor, Session, waitFor } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end tests with scripts/e2e.sh`);
  return v;
};

// Lines typed at the end of a scratch file; the first that gets ghost text is used by the later tests.
const CANDIDATES = ['for i in range(', 'print(', 'while total < ', 'y = x + ', 'import ', 'x = '];
const GHOST_WAIT_MS = 15_000;

describe('TinyFIM in a real VS Code (code-server + Chromium)', function () {
  this.timeout(240_000);
  const session = new Session({
    runDir: env('E2E_RUN_DIR'), artefacts: env('E2E_ARTEFACTS'), codeServer: env('E2E_CODE_SERVER'),
    nodeBin: env('E2E_NODE_BIN'), vsix: env('E2E_VSIX'), workspaceFixture: path.join(HERE, 'workspace'),
    // No confidence gate: these tests need ghost text from a weak model (the gate has its own unit tests).
    settings: { 'tinyfim.completions.minConfidence': 0 },
  });
  const editor = new Editor(session);
  /** @type {string} */
  let installedDir = '';
  /** @type {string | undefined} a line that got ghost text */
  let working;

  const file = (name) => path.join(session.workspace, name);

  /** Goes to the end of notes.py on a fresh line and saves, so the disk holds everything before the cursor. */
  async function freshLine() {
    const page = editor.page;
    await editor.openFile('notes.py');
    await page.keyboard.press('Escape');
    await editor.goToEnd();
    await page.keyboard.press('Enter');
    // A new line may inherit indentation; Home twice and deleting keeps the line empty and at column 1.
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Delete');
    await editor.save();
    return readFileSync(file('notes.py'), 'utf8');
  }

  /** Types `line` (no newline) and waits for ghost text; '' when none came. */
  async function typeAndWait(line, waitMs = GHOST_WAIT_MS) {
    await editor.page.keyboard.type(line, { delay: 40 });
    return editor.waitForGhost(waitMs).catch(() => '');
  }

  /** Types the known-good line (or finds one), returning the text before the cursor and the ghost text. */
  async function ghostAtFreshLine() {
    const lines = working ? [working, ...CANDIDATES.filter((c) => c !== working)] : CANDIDATES;
    const tried = [];
    for (const line of lines) {
      const before = await freshLine();
      const ghost = await typeAndWait(line);
      if (ghost) {
        working = line;
        return { before: before + line, ghost, line };
      }
      tried.push(line);
      // Undo the attempt so the scratch file stays small.
      await editor.page.keyboard.press('Escape');
      await editor.page.keyboard.press('Shift+Home');
      await editor.page.keyboard.press('Delete');
    }
    throw new Error(`no ghost text after typing any of ${JSON.stringify(tried)} (see logs/*TinyFIM.log)`);
  }

  before(async function () {
    this.timeout(300_000);
    session.prepare();
    const install = session.installExtension();
    installedDir = install.folder;
    console.log(`      installed ${path.basename(env('E2E_VSIX'))} in ${install.ms} ms`);
    await session.startCodeServer();
    await session.launchBrowser();
    await session.openWorkbench();
    await session.screenshot('workbench');
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test && test.state === 'failed') {
      await session.screenshot(`FAILED-${test.title.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}`);
    }
  });

  after(async function () {
    this.timeout(60_000);
    session.collectLogs();
    await session.close();
  });

  it('installs from the .vsix with its runtime and activates without errors', async () => {
    for (const rel of ['dist/extension.js', 'dist/linetrace.py', 'node_modules/onnxruntime-node/dist/index.js', 'package.json']) {
      assert.ok(existsSync(path.join(installedDir, rel)), `installed extension lacks ${rel}`);
    }
    const page = editor.page;
    await editor.openFile('completion.py');
    await page.locator('.statusbar-item', { hasText: 'TinyFIM' }).first().waitFor({ timeout: 60_000 });
    const channel = await waitFor('the TinyFIM output log to say "activated"', () => {
      const log = session.extensionHostLogs().find((f) => /TinyFIM\.log$/.test(f));
      return log && /activated/.test(readFileSync(log, 'utf8')) ? log : '';
    }, 60_000);
    await session.waitForModel(); // the bundled model loads (slow on a cold machine: later checks start after it)
    const exthost = session.extensionHostLogs().filter((f) => /exthost\.log$/.test(f)).map((f) => readFileSync(f, 'utf8')).join('\n');
    const failures = exthost.split('\n').filter((l) => /tinyfim/i.test(l) && /\[error\]|failed|Cannot find module/i.test(l));
    assert.deepEqual(failures, [], 'extension host errors about TinyFIM');
    assert.ok(readFileSync(channel, 'utf8').length > 0);
    await session.screenshot('activated');
  });

  it('shows ghost text while typing, and Tab inserts exactly that text', async () => {
    const { before, ghost } = await ghostAtFreshLine();
    await session.screenshot('ghost-text');
    await editor.page.keyboard.press('Tab');
    await editor.save(); // (a new suggestion may show at once after the accepted one; it is not in the file)
    await session.screenshot('accepted');
    assert.equal(readFileSync(file('notes.py'), 'utf8'), before + ghost);
  });

  it('asks for a completion on Alt+\\ after Escape dismissed one', async () => {
    await ghostAtFreshLine();
    // The first Escape can go to another widget (suggest list, a toast) that opened with the ghost text.
    let dismissed = false;
    for (let i = 0; i < 3 && !dismissed; i++) {
      await editor.page.keyboard.press('Escape');
      dismissed = await editor.staysWithoutGhost(1500);
    }
    assert.ok(dismissed, 'Escape dismisses the ghost text');
    await editor.page.keyboard.press('Alt+Backslash');
    const ghost = await editor.waitForGhost(GHOST_WAIT_MS);
    assert.ok(ghost.trim().length > 0);
    await session.screenshot('manual-trigger');
    await editor.page.keyboard.press('Escape');
  });

  it('cycles a manual trigger\'s suggestions with Alt+] and Alt+[', async () => {
    const page = editor.page;
    const tried = [];
    for (const line of CANDIDATES) {
      await freshLine();
      await page.keyboard.type(line, { delay: 20 });
      await page.keyboard.press('Escape');
      await page.keyboard.press('Alt+Backslash');
      const first = await editor.waitForGhost(GHOST_WAIT_MS).catch(() => '');
      if (!first) { tried.push(line); continue; }
      await page.keyboard.press('Alt+BracketRight'); // editor.action.inlineSuggest.showNext
      const second = await waitFor('another suggestion', async () => {
        const g = await editor.ghostText();
        return g.trim() && g !== first ? g : '';
      }, 5000).catch(() => '');
      if (!second) { tried.push(line); await page.keyboard.press('Escape'); continue; }
      await session.screenshot('candidates-next');
      await page.keyboard.press('Alt+BracketLeft'); // editor.action.inlineSuggest.showPrevious
      await waitFor('the first suggestion again', async () => (await editor.ghostText()) === first, 5000);
      await page.keyboard.press('Escape');
      return;
    }
    throw new Error(`Alt+] showed no second suggestion after Alt+\\ on any of ${JSON.stringify(tried)}`);
  });

  it('toggles completions off and on from the command palette', async () => {
    await ghostAtFreshLine(); // makes sure `working` is a line that gets ghost text
    await editor.page.keyboard.press('Escape');
    await editor.runCommand('TinyFIM: Toggle Inline Completions');
    await waitFor('tinyfim.completions.enable = false in settings.json', () => session.settings()['tinyfim.completions.enable'] === false, 15_000);
    await editor.page.locator('.statusbar', { hasText: 'off' }).first().waitFor({ timeout: 10_000 }).catch(() => {});
    await session.screenshot('toggled-off');
    await freshLine();
    const ghost = await typeAndWait(String(working), 6000);
    assert.equal(ghost, '', 'no automatic ghost text while completions are off');
    await editor.page.keyboard.press('Alt+Backslash');
    assert.ok((await editor.waitForGhost(GHOST_WAIT_MS)).trim(), 'Alt+\\ still asks while automatic completions are off');
    await editor.page.keyboard.press('Escape');
    await editor.runCommand('TinyFIM: Toggle Inline Completions');
    await waitFor('tinyfim.completions.enable = true in settings.json', () => session.settings()['tinyfim.completions.enable'] === true, 15_000);
    await freshLine();
    assert.ok(await typeAndWait(String(working)), 'ghost text is back after toggling on');
    await session.screenshot('toggled-on');
    await editor.page.keyboard.press('Escape');
  });

  it('hover shows the predicted output and line count; "Run and compare" shows the actual values', async () => {
    const page = editor.page;
    await editor.openFile('hover.py');
    await session.waitForModel();
    const line = page.locator('.editor-instance .view-line', { hasText: 'print(total)' });
    const first = page.locator('.editor-instance .view-line', { hasText: 'total = 0' });
    // Hover a settled line: once the Python grammar has split it into tokens (it re-renders when that happens).
    await waitFor('hover.py to be tokenized', async () => (await first.locator('span span').count()) > 1, 30_000);
    await line.click(); // the cursor inside the snippet: after the run the hover reopens with the results
    const answered = session.tinyfimLog().split(/\] hover: (?=lines |cancelled)/).length;
    // The card answers on the group's first line (shown above it, it leaves the snippet in view).
    await first.locator('span span').first().hover();
    // The provider's own signal first (its log line), so a failure says whether the editor asked at all.
    await waitFor('the hover provider to answer (a "hover:" line in the TinyFIM log)', () => {
      const lines = session.tinyfimLog().split(/\] hover: (?=lines |cancelled)/);
      if (lines.length > answered && /^cancelled/.test(lines[lines.length - 1])) throw new Error(`hover ${lines[lines.length - 1].split('\n')[0]}`);
      return lines.length > answered;
    }, 60_000);
    const hover = page.locator('.monaco-hover', { hasText: 'Predicted output' });
    await hover.first().waitFor({ timeout: 30_000 });
    const card = await hover.first().innerText();
    assert.match(card, /TinyFIM trace prediction/);
    assert.match(card, /Predicted output/);
    assert.match(card, /Executed lines:/);
    // Calibrated confidence (models/default ships calibration.json), or "not sure" instead of a guess.
    assert.match(card, /confidence \d+%/);
    assert.ok(!/not calibrated/.test(card), card);
    // With room above the snippet, the card sits above its first line and covers none of it.
    const cardBox = await hover.first().boundingBox();
    const firstBox = await page.locator('.editor-instance .view-line', { hasText: 'total = 0' }).boundingBox();
    assert.ok(cardBox && firstBox && cardBox.y + cardBox.height <= firstBox.y + 1, `card ${JSON.stringify(cardBox)} above ${JSON.stringify(firstBox)}`);
    await session.screenshot('hover-prediction');
    await hover.first().locator('a', { hasText: 'Run and compare' }).click();
    const compared = page.locator('.monaco-hover', { hasText: 'Actual output' });
    await compared.first().waitFor({ timeout: 60_000 });
    const after = await compared.first().innerText();
    // The snippet is total = 0 + 1 + 2 + 3: it prints 6. Line count: whatever the tracer counted, a number.
    assert.match(after, /Actual output[^\n]*\n+\s*6\b/);
    assert.match(after, /actual \d+/);
    assert.match(after, /Ran with/);
    await session.screenshot('hover-run-and-compare');
    // The hover shows the result: no notification as well.
    assert.equal(await page.locator('.notifications-toasts .notification-toast', { hasText: 'TinyFIM' }).count(), 0);
    await page.keyboard.press('Escape');
  });

  it('hovers: nothing on ordinary code, one line for a selection outside tinypy', async () => {
    const page = editor.page;
    await editor.openFile('completion.py');
    await page.locator('.editor-instance .view-line', { hasText: 'def add' }).locator('span span').first().hover();
    await page.waitForTimeout(2500);
    assert.equal(await page.locator('.monaco-hover:visible', { hasText: 'TinyFIM' }).count(), 0, 'no TinyFIM hover on a function');
    await page.keyboard.press('Control+Home');
    await page.keyboard.press('Shift+ArrowDown');
    await page.keyboard.press('Shift+ArrowDown');
    await page.locator('.editor-instance .view-line', { hasText: 'def add' }).locator('span span').first().hover();
    const note = page.locator('.monaco-hover:visible', { hasText: 'no trace prediction' }).first();
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.innerText(), /the selection uses function definitions/);
    assert.doesNotMatch(await note.innerText(), /Predicted output|confidence/);
    await session.screenshot('hover-outside-tinypy');
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowRight');
  });

  it('status bar menu: snooze and resume, disable and enable for this language; Alt+\\ says why it found nothing', async () => {
    const page = editor.page;
    const status = page.locator('.statusbar-item', { hasText: 'TinyFIM' }).first();
    const menu = async (item) => {
      await page.keyboard.press('Escape');
      await status.click();
      await page.locator('.quick-input-list .monaco-list-row', { hasText: item }).first().waitFor({ timeout: 15_000 });
      return page.locator('.quick-input-list .monaco-list-row', { hasText: item }).first();
    };
    await ghostAtFreshLine();
    await (await menu('Snooze for 5 minutes')).waitFor();
    assert.ok(await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Disable for python' }).count() > 0);
    await session.screenshot('status-menu');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Snooze for 5 minutes' }).first().click();
    await page.locator('.statusbar-item', { hasText: /TinyFIM \d+ min/ }).first().waitFor({ timeout: 10_000 });
    await freshLine();
    assert.equal(await typeAndWait(String(working), 5000), '', 'no automatic ghost text while snoozed');
    await page.keyboard.press('Alt+Backslash');
    assert.ok((await editor.waitForGhost(GHOST_WAIT_MS)).trim(), 'Alt+\\ still asks while snoozed');
    await session.screenshot('snoozed');
    await (await menu('Resume completions now')).click();
    await page.locator('.statusbar-item', { hasText: /TinyFIM \d+ min/ }).first().waitFor({ state: 'detached', timeout: 10_000 });

    await (await menu('Disable for python')).click();
    await waitFor('python off in settings.json', () => JSON.stringify(session.settings()['tinyfim.completions.languages']) === '[]', 15_000);
    await freshLine();
    await page.keyboard.press('Alt+Backslash');
    const why = page.locator('.notifications-toasts .notification-toast', { hasText: 'completions are on for no language' });
    await why.first().waitFor({ timeout: 15_000 });
    await session.screenshot('alt-backslash-language-off');
    await editor.clickNotificationButton('completions are on for no language', 'Enable for python');
    await waitFor('python on again', () => (session.settings()['tinyfim.completions.languages'] ?? []).includes('python'), 15_000);

    writeFileSync(file('my_secrets.py'), 'API_TOKEN = 1\n');
    await editor.openFile('my_secrets.py');
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Alt+Backslash');
    const excluded = page.locator('.notifications-toasts .notification-toast', { hasText: 'tinyfim.completions.exclude' });
    await excluded.first().waitFor({ timeout: 15_000 });
    assert.match(await excluded.first().innerText(), /matches\s+`?\*secret\*`?/);
    assert.equal(await editor.ghostText(), '');
    await session.screenshot('alt-backslash-excluded-file');
  });

  it('accept next word counts as a partial accept; the status bar says "cached"; statistics default to Close', async () => {
    const page = editor.page;
    const { ghost } = await ghostAtFreshLine();
    await page.keyboard.press('Control+ArrowRight');
    await waitFor('part of the suggestion inserted', async () => (await editor.ghostText()) !== ghost, 10_000);
    await session.screenshot('accepted-next-word');
    // Typing on through what is left is served by the typing-through cache, not the model: no latency claimed.
    const rest = await editor.ghostText();
    if (rest.trim()) {
      await page.keyboard.type(rest[0]);
      await page.locator('.statusbar-item', { hasText: 'TinyFIM cached' }).first().waitFor({ timeout: 10_000 });
      await session.screenshot('status-bar-cached');
    }
    await page.keyboard.press('Escape');
    await editor.runCommand('TinyFIM: Show Statistics');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    assert.match(await dialog.innerText(), /Partly accepted \(next word \/ next line\): [1-9]\d*, \d+ characters/);
    const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
    assert.equal(focused.trim(), 'Close', 'the default button is the harmless one');
    await session.screenshot('statistics-dialog');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('the extension page shows the icon, categories and repository; the trainer-folder dialog has a title', async () => {
    const page = editor.page;
    await editor.runCommand('Extensions: Show Installed Extensions');
    await page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'TinyFIM' }).first().click();
    const details = page.locator('.extension-editor').first();
    await details.waitFor({ timeout: 30_000 });
    await waitFor('the icon to load', () => details.locator('.header img.icon').first()
      .evaluate((img) => /** @type {HTMLImageElement} */ (img).naturalWidth > 0), 20_000);
    await details.getByText('Machine Learning').first().waitFor({ timeout: 20_000 });
    await session.screenshot('extension-page');
    await editor.closeActiveEditor();

    await editor.runCommand('TinyFIM: Train a Model on This Workspace');
    await editor.clickNotificationButton('training needs the TinyFIM trainer', 'Locate TinyFIM Checkout');
    const title = page.locator('.quick-input-widget .quick-input-title');
    await title.filter({ hasText: 'locate the TinyFIM checkout' }).first().waitFor({ timeout: 20_000 });
    await session.screenshot('trainer-folder-dialog');
    await page.keyboard.press('Escape');
  });

  it('reports a corrupt model clearly, keeps the editor working, and recovers with "Use Bundled Model"', async () => {
    // A model folder whose manifest is consistent but whose model.onnx is cut off: onnxruntime must refuse it.
    const bundled = path.join(installedDir, 'models', 'default');
    const corrupt = path.join(session.runDir, 'corrupt-model');
    cpSync(bundled, corrupt, { recursive: true });
    const onnx = readFileSync(path.join(corrupt, 'model.onnx'));
    const cut = onnx.subarray(0, Math.floor(onnx.length / 3));
    writeFileSync(path.join(corrupt, 'model.onnx'), cut);
    const manifest = JSON.parse(readFileSync(path.join(corrupt, 'model.json'), 'utf8'));
    const { createHash } = await import('node:crypto');
    manifest.files['model.onnx'] = { sha256: createHash('sha256').update(cut).digest('hex'), bytes: cut.length };
    writeFileSync(path.join(corrupt, 'model.json'), JSON.stringify(manifest, null, 2));

    await editor.updateSettings({ 'tinyfim.model.path': corrupt });
    const toast = editor.page.locator('.notifications-toasts .notification-toast', { hasText: 'TinyFIM cannot load' });
    await toast.first().waitFor({ timeout: 60_000 });
    const message = await toast.first().innerText();
    assert.ok(message.includes('corrupt-model'), `the message names the folder: ${message}`);
    assert.match(message, /Completions are off until a model loads/);
    await session.screenshot('corrupt-model-notification');

    // The editor keeps working: typing and saving still do, and no ghost text comes from a broken model.
    const before = await freshLine();
    await editor.page.keyboard.type('still_typing = 1', { delay: 20 });
    await editor.save();
    assert.equal(readFileSync(file('notes.py'), 'utf8'), `${before}still_typing = 1`);
    await session.screenshot('corrupt-model-editor-works');

    await editor.clickNotificationButton('TinyFIM cannot load', 'Use Bundled Model');
    await waitFor('tinyfim.model.path cleared', () => (session.settings()['tinyfim.model.path'] ?? '') === '', 15_000);
    const { ghost } = await ghostAtFreshLine();
    assert.ok(ghost.trim(), 'completions work again with the bundled model');
    await editor.page.keyboard.press('Escape');
    await session.screenshot('corrupt-model-recovered');
  });

  it('opens the walkthrough with completions, hovers and training', async () => {
    await editor.runCommand('Welcome: Open Walkthrough...');
    const input = editor.page.locator('.quick-input-widget input');
    await input.fill('TinyFIM');
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Get Started with TinyFIM' }).first().waitFor({ timeout: 20_000 });
    await editor.page.keyboard.press('Enter');
    const page = editor.page.locator('.gettingStartedContainer');
    await page.first().waitFor({ timeout: 30_000 });
    for (const title of ['Ghost-text completions', 'Trace predictions in hovers', 'Adapt the model to your code']) {
      await page.first().getByText(title).first().waitFor({ timeout: 15_000 });
    }
    await session.screenshot('walkthrough');
    await editor.closeActiveEditor();
  });

  it('"Train a Model on This Workspace" runs the trainer pipeline in a terminal and switches to the new model', async function () {
    this.timeout(360_000);
    // The real trainer of this checkout (its .venv), on the e2e workspace, cut short: 5 steps, 200 tinypy programs.
    const repo = path.resolve(HERE, '..', '..');
    await editor.updateSettings({
      'tinyfim.train.trainerPath': repo,
      'tinyfim.train.extraArgs': ['--steps', '5', '--tinypy-count', '200', '--eval-limit', '10'],
    });
    await editor.runCommand('TinyFIM: Train a Model on This Workspace');
    await editor.page.locator('.quick-input-widget input').fill('test');
    await editor.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'test' }).first().waitFor({ timeout: 20_000 });
    await session.screenshot('training-preset');
    await editor.page.keyboard.press('Enter');
    await editor.page.locator('.terminal-wrapper').first().waitFor({ timeout: 30_000 });

    const done = editor.page.locator('.notifications-toasts .notification-toast', { hasText: 'training finished' });
    const failed = editor.page.locator('.notifications-toasts .notification-toast', { hasText: 'TinyFIM: training' });
    await waitFor('the training to end', async () => (await done.count()) > 0 || (await failed.count()) > 0, 300_000, 1000);
    await session.screenshot('training-finished');
    const terminalText = (await editor.page.locator('.terminal-wrapper .xterm-rows').first().innerText().catch(() => '')).replace(/\u00a0/g, ' ');
    assert.ok(await done.count() > 0, `training did not finish: ${await failed.first().innerText()}\n${terminalText}`);
    if (terminalText) assert.match(terminalText, /\bdone\. Press any key to close this terminal/); // exit code 0

    // The editor loads it (the TinyFIM log says so) and shows no error.
    const out = await editor.useNewModel('training finished');
    const manifest = JSON.parse(readFileSync(path.join(out, 'model.json'), 'utf8'));
    assert.equal(manifest.format, 'tinyfim-model-v1');
    assert.ok(readdirSync(out).includes('model.onnx'));
    assert.equal(await editor.page.locator('.notifications-toasts .notification-toast', { hasText: 'TinyFIM cannot load' }).count(), 0);
    await session.screenshot('training-model-in-use');
  });
});
