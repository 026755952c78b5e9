// The end-to-end harness: a real VS Code (code-server) with the packaged extension installed, driven through
// Debian's Chromium by playwright-core. Every process it starts is its own process group, recorded in
// RUN_DIR/pids so that scripts/e2e.sh can kill what is left even if this process dies; every wait is bounded.
// @ts-check
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
  '--window-size=1400,900'];

/** Settings for a quiet, deterministic editor: no welcome page, no word suggestions competing with ghost text. */
export const BASE_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.editor.useModal': 'off',
  'editor.inlineSuggest.enabled': true,
  'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
  'editor.suggestOnTriggerCharacters': false,
  'editor.wordBasedSuggestions': 'off',
  'editor.parameterHints.enabled': false,
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
  'editor.minimap.enabled': false,
  'terminal.integrated.gpuAcceleration': 'off',
  'editor.hover.delay': 300,
  'files.autoSave': 'off',
  'files.trimTrailingWhitespace': false,
  'files.insertFinalNewline': false,
  'python.languageServer': 'None',
  // The machine is slow and shared: give the model time, and keep the hover's run bounded.
  'tinyfim.completions.timeBudgetMs': 3000,
  'tinyfim.completions.debounceMs': 50,
  'tinyfim.hover.timeoutSeconds': 20,
};

/** The TinyFIM log channel at debug level (the tests read its debug lines): VS Code for the web takes extension log
 * levels from the `payload` query, as the desktop takes `--log tinyfim.tinyfim:debug`. */
const DEBUG_LOG = `?payload=${encodeURIComponent(JSON.stringify([['logLevel', 'tinyfim.tinyfim:debug']]))}`;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor(what, probe, timeoutMs, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${last})` : ''}`);
    await sleep(intervalMs);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One run: folders, processes and their logs under runDir. */
export class Session {
  /** `trust`: leave Workspace Trust on (the folder opens untrusted); `baseSettings: false`: only `settings`, not BASE_SETTINGS.
   * @param {{runDir: string, artefacts: string, codeServer: string, nodeBin: string, vsix: string, workspaceFixture: string, settings?: object, trust?: boolean, baseSettings?: boolean}} opts */
  constructor(opts) {
    this.opts = opts;
    this.runDir = opts.runDir;
    this.userDataDir = path.join(this.runDir, 'user-data');
    this.extensionsDir = path.join(this.runDir, 'extensions');
    this.workspace = path.join(this.runDir, 'workspace');
    this.logDir = path.join(opts.artefacts, 'logs');
    this.shots = opts.artefacts;
    /** @type {import('node:child_process').ChildProcess[]} */
    this.children = [];
    this.shotCount = 0;
    /** @type {NodeJS.ProcessEnv} */
    this.env = { ...process.env, PATH: `${opts.nodeBin}:${process.env.PATH ?? ''}` };
    delete this.env.VSCODE_IPC_HOOK_CLI; // never talk to an editor this shell may run inside
    /** @type {import('playwright-core').Browser | undefined} */
    this.browser = undefined;
    /** @type {import('playwright-core').Page | undefined} */
    this.page = undefined;
    this.url = '';
  }

  get settingsFile() { return path.join(this.userDataDir, 'User', 'settings.json'); }

  /** The user settings as the editor last wrote them. */
  settings() { return JSON.parse(readFileSync(this.settingsFile, 'utf8')); }

  prepare() {
    rmSync(this.runDir, { recursive: true, force: true });
    rmSync(this.opts.artefacts, { recursive: true, force: true });
    for (const d of [this.userDataDir, this.extensionsDir, this.logDir, this.shots, path.join(this.userDataDir, 'User')]) {
      mkdirSync(d, { recursive: true });
    }
    cpSync(this.opts.workspaceFixture, this.workspace, { recursive: true });
    this.writeSettings(this.opts.settings ?? {});
  }

  writeSettings(extra) {
    writeFileSync(this.settingsFile, JSON.stringify({ ...(this.opts.baseSettings === false ? {} : BASE_SETTINGS), ...extra }, null, 2));
  }

  track(child, name) {
    this.children.push(child);
    appendFileSync(path.join(this.runDir, 'pids'), `${child.pid} ${name}\n`);
  }

  /** `code-server --install-extension file.vsix` into this run's extensions folder. */
  installExtension() {
    const t0 = Date.now();
    const result = spawnSync(this.opts.codeServer, ['--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir,
      '--disable-telemetry', '--install-extension', this.opts.vsix, '--force'], { env: this.env, encoding: 'utf8', timeout: 180_000 });
    writeFileSync(path.join(this.logDir, 'install-extension.log'), `${result.stdout}\n${result.stderr}`);
    if (result.status !== 0) {
      throw new Error(`--install-extension failed (${result.status ?? result.signal ?? result.error}): ${result.stderr || result.stdout}`);
    }
    const installed = readdirSync(this.extensionsDir).filter((d) => d.startsWith('tinyfim.tinyfim-'));
    if (installed.length === 0) throw new Error(`the extension is not in ${this.extensionsDir} after --install-extension`);
    return { ms: Date.now() - t0, folder: path.join(this.extensionsDir, installed[0]) };
  }

  async startCodeServer() {
    const port = await freePort();
    const log = createWriteStream(path.join(this.logDir, 'code-server.log'));
    const child = spawn(this.opts.codeServer, ['--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
      '--disable-update-check', ...(this.opts.trust ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override', '--ignore-last-opened',
      '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir, this.workspace],
    { env: this.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.track(child, 'code-server');
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    let exited = false;
    child.once('exit', () => { exited = true; });
    this.url = `http://127.0.0.1:${port}/`;
    await waitFor('code-server to answer on ' + this.url, async () => {
      if (exited) throw new Error('code-server exited; see logs/code-server.log');
      const res = await fetch(`${this.url}healthz`, { signal: AbortSignal.timeout(2000) });
      return res.ok;
    }, 60_000, 500);
  }

  async launchBrowser() {
    const profile = path.join(this.runDir, 'chromium-profile');
    const child = spawn('/usr/bin/chromium', [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0', 'about:blank'], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.track(child, 'chromium');
    const log = createWriteStream(path.join(this.logDir, 'chromium.log'));
    const endpoint = await new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(() => reject(new Error('chromium did not print its DevTools address within 30 s')), 30_000);
      child.stderr?.on('data', (chunk) => {
        log.write(chunk);
        buffered += chunk.toString();
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(buffered);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited (${code}); see logs/chromium.log`)); });
    });
    this.browser = await chromium.connectOverCDP(String(endpoint), { timeout: 30_000 });
    const context = this.browser.contexts()[0] ?? await this.browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: this.url.replace(/\/$/, '') }).catch(() => {});
    this.page = await context.newPage();
    await this.page.setViewportSize({ width: 1400, height: 900 });
    this.page.setDefaultTimeout(30_000);
    this.consoleErrors = [];
    this.page.on('console', (msg) => {
      if (msg.type() === 'error') this.consoleErrors.push(msg.text());
    });
  }

  async openWorkbench() {
    const page = this.requirePage();
    await page.goto(this.url + DEBUG_LOG, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 90_000 });
    // The explorer shows the workspace once the remote file system is connected.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 90_000 });
  }

  requirePage() {
    if (!this.page) throw new Error('the browser is not open');
    return this.page;
  }

  async screenshot(name) {
    if (!this.page) return;
    this.shotCount += 1;
    const file = path.join(this.shots, `${String(this.shotCount).padStart(2, '0')}-${name}.png`);
    await this.page.screenshot({ path: file, timeout: 15_000 }).catch(() => {});
  }

  /** Every extension-host log line of this run, for the report when something fails. */
  extensionHostLogs() {
    const found = [];
    const walk = (dir) => {
      if (!existsSync(dir)) return;
      for (const entry of readdirSync(dir)) {
        const p = path.join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (/exthost\.log$|TinyFIM\.log$|tinyfim/i.test(entry)) found.push(p);
      }
    };
    walk(path.join(this.userDataDir, 'logs'));
    return found;
  }

  /** The TinyFIM output channel so far ('' before the extension writes to it). */
  tinyfimLog() {
    const file = this.extensionHostLogs().find((f) => /TinyFIM\.log$/.test(f));
    return file ? readFileSync(file, 'utf8') : '';
  }

  /** Waits for the extension to say its model (the one in `dir`, if given) is loaded: the last "loading model" line
   * followed by "ready". On a cold machine the first load is slow, and a single-shot check (a hover) must not start
   * before it. */
  async waitForModel(timeoutMs = 120_000, dir = '') {
    await waitFor(`the TinyFIM log to say the model ${dir} is ready`, () => {
      const text = this.tinyfimLog();
      const at = text.lastIndexOf(`loading model from ${dir}`);
      if (at >= 0 && /TinyFIM cannot load/.test(text.slice(at))) throw new Error(text.slice(at).split('\n')[1]);
      return at >= 0 && /model '[^']+' ready/.test(text.slice(at));
    }, timeoutMs, 250);
  }

  /** Copies logs next to the screenshots (for CI artefacts). */
  collectLogs() {
    for (const file of this.extensionHostLogs()) {
      const rel = path.relative(path.join(this.userDataDir, 'logs'), file).replace(/[\\/]/g, '_');
      try { copyFileSync(file, path.join(this.logDir, rel)); } catch { /* best effort */ }
    }
  }

  async close() {
    try { await this.browser?.close(); } catch { /* the process is killed below anyway */ }
    this.browser = undefined;
    this.page = undefined;
    for (const child of this.children.splice(0)) killGroup(child.pid);
  }
}

/** Kills a process group we started (detached children lead their own group): TERM, then KILL. */
export function killGroup(pid) {
  if (!pid) return;
  try { process.kill(-pid, 'SIGTERM'); } catch { return; }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    try { process.kill(-pid, 0); } catch { return; }
    spawnSync('sleep', ['0.1']);
  }
  try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
}

/** Editor actions through the UI, the way a user does them. */
export class Editor {
  /** @param {Session} session */
  constructor(session) {
    this.session = session;
  }

  get page() { return this.session.requirePage(); }

  /** Opens a workspace file through Quick Open and waits until its editor has focus. */
  async openFile(name) {
    const page = this.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(name);
    // Enter picks the focused row: wait until the filtered list has put the file there.
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    await page.locator(`.tabs-container .tab.active`, { hasText: name }).waitFor({ timeout: 20_000 });
    await page.locator('.editor-instance .monaco-editor.focused').waitFor({ timeout: 20_000 });
  }

  /** The cursor as the status bar shows it ("Ln 3, Col 7"), or undefined while it shows none. */
  async cursor() {
    const text = await this.page.locator('[id="status.editor.selection"]').innerText().catch(() => '');
    const m = /Ln (\d+), Col (\d+)/.exec(text);
    return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
  }

  /** Moves the cursor to the end of the active file: Ctrl+End until the status bar shows it on the last line (a key
   * pressed just after a file opens can be lost, and the next keys would then edit its first line). */
  async goToEnd() {
    await waitFor('the cursor on the last line', async () => {
      await this.page.keyboard.press('Control+End');
      const numbers = (await this.page.locator('.editor-instance .line-numbers').allInnerTexts()).map(Number);
      const at = await this.cursor();
      return at !== undefined && numbers.length > 0 && at.line === Math.max(...numbers.filter(Number.isFinite));
    }, 10_000, 250);
  }

  /** Runs a command from the palette by its title, e.g. "TinyFIM: Toggle Inline Completions". */
  async runCommand(title) {
    const page = this.page;
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title }).first();
    await row.waitFor({ timeout: 20_000 });
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 15_000 }).catch(() => {});
  }

  /** The ghost text now shown in the focused editor ('' when none): the inline part and any extra lines. */
  async ghostText() {
    return this.page.evaluate(() => {
      const editor = document.querySelector('.editor-instance .monaco-editor.focused') ?? document.querySelector('.editor-instance .monaco-editor');
      if (!editor) return '';
      const inline = [...editor.querySelectorAll('.ghost-text-decoration')].map((e) => e.textContent ?? '').join('');
      const blocks = [...editor.querySelectorAll('.ghost-text')].filter((e) => !e.classList.contains('ghost-text-decoration'));
      const extra = blocks.flatMap((b) => {
        const lines = [...b.querySelectorAll('.view-line')];
        return lines.length > 0 ? lines.map((l) => l.textContent ?? '') : [b.textContent ?? ''];
      });
      const text = extra.length > 0 ? [inline, ...extra].join('\n') : inline;
      return text.replace(/\u00a0/g, ' ');
    });
  }

  async waitForGhost(timeoutMs) {
    return waitFor('ghost text', async () => {
      const text = await this.ghostText();
      return text.trim() !== '' ? text : '';
    }, timeoutMs);
  }

  /** True when no ghost text shows up during `ms`. */
  async staysWithoutGhost(ms) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await this.ghostText()).trim() !== '') return false;
      await sleep(200);
    }
    return true;
  }

  /** Changes user settings the way a user can: in settings.json, opened and saved in the editor. (Writing the
   * file behind the editor's back is not reliable: code-server stops noticing once it has saved the file itself.)
   * `undefined` removes a key. */
  async updateSettings(changes) {
    const page = this.page;
    const current = JSON.parse(readFileSync(this.session.settingsFile, 'utf8'));
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) delete current[k];
      else current[k] = v;
    }
    await this.runCommand('Preferences: Open User Settings (JSON)');
    // (BASE_SETTINGS turns off modal editors, so it opens in a tab that Ctrl+W closes.)
    await page.locator('.monaco-editor.focused', { hasText: 'workbench.startupEditor' }).first().waitFor({ timeout: 20_000 });
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify(current));
    await page.keyboard.press('Control+S');
    await waitFor('settings.json to be written', () => {
      const now = JSON.parse(readFileSync(this.session.settingsFile, 'utf8'));
      return Object.entries(changes).every(([k, v]) => JSON.stringify(now[k]) === JSON.stringify(v));
    }, 15_000);
    await this.closeActiveEditor();
  }

  /** Closes the active editor with its tab's close button (browsers keep Ctrl+W for themselves). */
  async closeActiveEditor() {
    const tab = this.page.locator('.tabs-container .tab.active');
    const label = await tab.innerText();
    await tab.hover();
    await tab.locator('.tab-actions .action-label').first().click();
    await this.page.locator('.tabs-container .tab.active', { hasText: label.trim() }).waitFor({ state: 'detached', timeout: 10_000 }).catch(() => {});
  }

  async save() {
    await this.page.keyboard.press('Control+S');
    await this.page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: 15_000 });
  }

  /** Clicks a button of a notification: in its toast, or in the notification center once the toast has gone. */
  async clickNotificationButton(messagePart, button) {
    const page = this.page;
    const inToast = page.locator('.notifications-toasts .notification-toast', { hasText: messagePart }).locator('.monaco-button', { hasText: button });
    if (await inToast.first().isVisible()) {
      await inToast.first().click();
      return;
    }
    await this.runCommand('Notifications: Show Notifications');
    const inCenter = page.locator('.notifications-center .notification-list-item', { hasText: messagePart }).locator('.monaco-button', { hasText: button });
    await inCenter.first().click({ timeout: 15_000 });
  }

  /** Clicks "Use This Model" on the notification that says `messagePart`, waits until tinyfim.model.path points at
   * the new model (a folder in the extension's global storage) and the editor has loaded it; returns that folder. */
  async useNewModel(messagePart) {
    await this.clickNotificationButton(messagePart, 'Use This Model');
    const storage = path.join(this.session.userDataDir, 'User', 'globalStorage', 'tinyfim.tinyfim', 'models');
    const out = await waitFor('tinyfim.model.path = the new model', () => {
      const p = this.session.settings()['tinyfim.model.path'];
      return typeof p === 'string' && p.startsWith(storage) ? p : '';
    }, 15_000);
    await this.session.waitForModel(60_000, out);
    return out;
  }

  /** Text of the notification toasts now visible. */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast').allInnerTexts();
  }
}
