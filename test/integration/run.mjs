// Integration tests inside a real VS Code (Electron) with @vscode/test-electron: `npm run test:integration`.
// VS Code comes from, in order: VSCODE_EXECUTABLE_PATH (the Electron executable, e.g. /usr/share/code/code or
// ".../Visual Studio Code.app/Contents/MacOS/Electron"), a download cached in .vscode-test/, or `code` on PATH.
// Set TINYFIM_VSCODE_DOWNLOAD=1 to let test-electron download VS Code (needs update.code.visualstudio.com).
// With none of these, or no display on Linux (install xvfb: xvfb-run is used when found), it skips: exit 0.
// The end-to-end tests (scripts/e2e.sh) cover the same ground in code-server and run everywhere.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const skip = (why) => {
  console.log(`test:integration skipped: ${why}`);
  console.log('  (set VSCODE_EXECUTABLE_PATH to a VS Code executable, or TINYFIM_VSCODE_DOWNLOAD=1 with network access;');
  console.log('   the code-server end-to-end tests, bash scripts/e2e.sh, need neither)');
  process.exit(0);
};

function platformId() {
  if (process.platform === 'linux') return process.arch === 'arm64' ? 'linux-arm64' : 'linux-x64';
  if (process.platform === 'darwin') return process.arch === 'arm64' ? 'darwin-arm64' : 'darwin';
  return process.arch === 'arm64' ? 'win32-arm64-archive' : 'win32-x64-archive';
}

/** { vscodeExecutablePath } or { version } (cached) or { version: 'stable' } (download), or undefined. */
function findVSCode() {
  const env = process.env.VSCODE_EXECUTABLE_PATH;
  if (env) {
    if (!existsSync(env)) skip(`VSCODE_EXECUTABLE_PATH=${env} does not exist`);
    return { vscodeExecutablePath: env, from: 'VSCODE_EXECUTABLE_PATH' };
  }
  const cache = path.join(root, '.vscode-test');
  const cached = existsSync(cache) ? readdirSync(cache)
    .map((d) => new RegExp(`^vscode-${platformId()}-([0-9.]+)$`).exec(d))
    .filter((m) => m && existsSync(path.join(cache, m[0], 'is-complete')))
    .map((m) => m[1])
    .sort((a, b) => b.localeCompare(a, undefined, { numeric: true })) : [];
  if (cached.length > 0) return { version: cached[0], from: `.vscode-test (${cached[0]})` };
  if (process.platform === 'linux') {
    const which = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' }).stdout.trim();
    if (which) {
      // /usr/bin/code -> /usr/share/code/bin/code (a shell script); the Electron binary is /usr/share/code/code.
      const real = realpathSync(which);
      const electron = path.join(path.dirname(path.dirname(real)), 'code');
      if (existsSync(electron) && electron !== real) return { vscodeExecutablePath: electron, from: electron };
    }
  }
  if (process.env.TINYFIM_VSCODE_DOWNLOAD === '1') return { version: 'stable', from: 'download' };
  return undefined;
}

const found = findVSCode();
if (!found) skip('no VS Code found');
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY && !process.env.TINYFIM_UNDER_XVFB) {
  const xvfb = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).stdout.trim();
  if (!xvfb) skip('no display and no xvfb-run (apt-get install xvfb)');
  const r = spawnSync(xvfb, ['-a', process.execPath, fileURLToPath(import.meta.url)], {
    stdio: 'inherit', env: { ...process.env, TINYFIM_UNDER_XVFB: '1' },
  });
  process.exit(r.status ?? 1);
}

const model = process.env.TINYFIM_TEST_MODEL ?? path.join(root, existsSync(path.join(root, 'models/default/model.json')) ? 'models/default' : 'build/test-model');
if (!existsSync(path.join(model, 'model.json'))) {
  console.error(`error: no model at ${model}: run bash scripts/test-model.sh first`);
  process.exit(1);
}
execFileSync(process.execPath, ['esbuild.mjs', '--quiet'], { cwd: root, stdio: 'inherit' });

// A throw-away workspace with one Python file and the model setting.
const workspace = mkdtempSync(path.join(os.tmpdir(), 'tinyfim-integration-'));
mkdirSync(path.join(workspace, '.vscode'));
writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'tinyfim.model.path': model }));
writeFileSync(path.join(workspace, 'snippet.py'), 'total = 0\nfor i in range(4):\n    total = total + i\nprint(total)\n');

const { runTests } = await import('@vscode/test-electron');
console.log(`test:integration: VS Code from ${found.from}`);
let code = 0;
try {
  const { from: _from, ...where } = found;
  await runTests({
    ...where,
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(here, 'suite', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--skip-welcome', '--skip-release-notes', '--disable-workspace-trust'],
    extensionTestsEnv: { TINYFIM_IT_WORKSPACE: workspace },
  });
} catch (err) {
  console.error(`test:integration failed: ${err instanceof Error ? err.message : String(err)}`);
  code = 1;
} finally {
  rmSync(workspace, { recursive: true, force: true });
}
process.exit(code);
