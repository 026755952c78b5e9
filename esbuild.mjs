// Bundles the extension (dist/extension.js) and the engine CLI (dist/cli.js).
// `vscode` is provided by the editor; `onnxruntime-node` carries native binaries and stays a real module.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const args = new Set(process.argv.slice(2));
const cliOnly = args.has('--cli');
const quiet = args.has('--quiet');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: quiet ? 'error' : 'info',
};

mkdirSync('dist', { recursive: true });
const builds = [esbuild.build({ ...common, entryPoints: ['extension/cli/main.ts'], outfile: 'dist/cli.js' })];
if (!cliOnly) {
  builds.push(esbuild.build({ ...common, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js' }));
}
await Promise.all(builds);
// "Run and compare" runs the trainer's own line tracer with the user's Python: ship the same file.
try {
  copyFileSync('trainer/tinypy/linetrace.py', 'dist/linetrace.py');
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
// "Adapt the Model to This Workspace" runs `python -m trainer finetune` from the installed package: ship the sources
// it imports (listed in trainer/finetune-files.txt) and its pinned requirements, and nothing else of the trainer.
if (!cliOnly) {
  rmSync('dist/trainer', { recursive: true, force: true });
  const files = readFileSync('trainer/finetune-files.txt', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join('dist/trainer', f)), { recursive: true });
    copyFileSync(path.join('trainer', f), path.join('dist/trainer', f));
  }
  copyFileSync('requirements-finetune.txt', 'dist/trainer/requirements-finetune.txt');
}
