// "TinyFIM: Adapt the Model to This Workspace": fine-tunes the active model on the workspace's Python files with the
// trainer sources the package carries (dist/trainer), in an integrated terminal; then shows the held-out figures and
// offers to switch. A failed, stopped or partial run never changes tinyfim.model.path.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { updateSetting } from '../engineHost';
import type { Logger } from '../log';
import { resolveModelDir } from '../modelLoader';
import {
  baseProblem, basePythonCandidates, describeResult, planAdapt, probeProblem, probePython, READY_FILE, readAdaptResult,
  shippedTrainer, venvDir, venvPython, venvReady, venvSteps, type AdaptPlan,
} from './adapt';
import { modelReady, shellLine } from './plan';
import { pickFolder, refuseInRestrictedMode, TrainerTerminal } from './terminal';

export const ADAPT_COMMAND = 'tinyfim.adaptToWorkspace';
const MINUTE_CHOICES = [5, 15, 30];

export async function adaptToWorkspace(context: vscode.ExtensionContext, log: Logger, running: Set<TrainerTerminal>): Promise<void> {
  if (await refuseInRestrictedMode('adapting the model runs the trainer (Python) on this folder')) return;
  if (running.size > 0) {
    void vscode.window.showWarningMessage('TinyFIM: a training run is already going; see its terminal.');
    return;
  }
  const shipped = shippedTrainer(context.extensionPath);
  if (!shipped) {
    void vscode.window.showErrorMessage('TinyFIM: this installation lacks the trainer sources (dist/trainer); reinstall the extension.');
    return;
  }
  const folder = await pickFolder();
  if (!folder) {
    void vscode.window.showWarningMessage('TinyFIM: open a folder with Python code first; the model adapts to its files.');
    return;
  }
  const config = vscode.workspace.getConfiguration('tinyfim');
  const baseDir = resolveModelDir(config.get<string>('model.path', ''), path.join(context.extensionPath, 'models', 'default'),
    vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  const problem = baseProblem(baseDir);
  if (problem) {
    void vscode.window.showErrorMessage(`TinyFIM: ${problem}`);
    return;
  }
  const minutes = await pickMinutes(config.get<number>('adapt.minutes', 15), folder.name);
  if (minutes === undefined) return;
  const python = await resolvePython(context, shipped.requirements, log);
  if (!python) return;

  const plan = planAdapt({ python, trainerCwd: shipped.cwd, baseDir, codeDir: folder.uri.fsPath, minutes,
    storageDir: context.globalStorageUri.fsPath, now: new Date() });
  log.info(`adapting: ${shellLine(plan.python, plan.args)} (in ${plan.cwd})`);
  const terminal = new TrainerTerminal(plan, (code) => {
    running.delete(terminal);
    void adaptFinished(plan, folder.name, code, log);
  });
  running.add(terminal);
  vscode.window.createTerminal({ name: `TinyFIM: adapt to ${folder.name}`, pty: terminal }).show();
}

async function pickMinutes(setting: number, folderName: string): Promise<number | undefined> {
  const values = [setting, ...MINUTE_CHOICES.filter((m) => m !== setting)].filter((m) => Number.isFinite(m) && m > 0);
  const items = values.map((m, i) => ({
    label: `${m} minutes`, minutes: m,
    description: i === 0 ? '(setting tinyfim.adapt.minutes)' : '',
    detail: m >= 15 ? 'recommended: the measured gain on a project\'s own held-out lines needs about 15 minutes' : undefined,
  }));
  const pick = await vscode.window.showQuickPick(items, {
    title: `TinyFIM: adapt the model to ${folderName}`,
    placeHolder: 'Training time on this machine (preparing and measuring add a minute or two)',
  });
  return pick?.minutes;
}

/** tinyfim.train.pythonPath when set (it must have the packages), else TinyFIM's own venv, made once on request. */
async function resolvePython(context: vscode.ExtensionContext, requirements: string, log: Logger): Promise<string | undefined> {
  const setting = vscode.workspace.getConfiguration('tinyfim.train').get<string>('pythonPath', '').trim();
  if (setting) {
    const probe = await probePython(setting);
    const why = probe ? probeProblem(probe) : 'it does not start';
    if (!why) return setting;
    void vscode.window.showErrorMessage(`TinyFIM: ${setting} (setting tinyfim.train.pythonPath) cannot fine-tune: ${why}. `
      + 'Install requirements-finetune.txt into it, or clear the setting to let TinyFIM set up its own Python packages.');
    return undefined;
  }
  const dir = venvDir(context.globalStorageUri.fsPath, readFileSync(requirements, 'utf8'));
  if (venvReady(dir)) return venvPython(dir);
  const setUp = 'Set Up Python Packages';
  const pick = await vscode.window.showInformationMessage(
    'TinyFIM: adapting the model needs Python with PyTorch. Set up TinyFIM\'s own Python environment now? It downloads PyTorch '
    + 'and a few packages from PyPI, once (about 1 GB; several GB on Linux, where PyPI\'s PyTorch includes CUDA libraries). '
    + 'To use a Python that already has them, set tinyfim.train.pythonPath instead.', setUp);
  if (pick !== setUp) return undefined;
  return createVenv(dir, requirements, log);
}

async function createVenv(dir: string, requirements: string, log: Logger): Promise<string | undefined> {
  let base: { command: string; args: string[] } | undefined;
  for (const c of basePythonCandidates()) {
    const probe = await probePython(c.command, c.args);
    if (probe && !probeProblem(probe, false)) { base = c; break; }
  }
  if (!base) {
    void vscode.window.showErrorMessage('TinyFIM: no Python 3.10 or newer found (python3 or python on PATH). Install Python, '
      + 'or set tinyfim.train.pythonPath to a Python that has PyTorch.');
    return undefined;
  }
  const pipArgs = vscode.workspace.getConfiguration('tinyfim.adapt').get<unknown[]>('pipArgs', []).filter((a): a is string => typeof a === 'string');
  const steps = venvSteps(base, dir, requirements, pipArgs);
  const outcome = await vscode.window.withProgress({
    location: vscode.ProgressLocation.Notification, title: 'TinyFIM: setting up Python for fine-tuning', cancellable: true,
  }, async (progress, token) => {
    rmSync(dir, { recursive: true, force: true });
    for (const step of steps) {
      progress.report({ message: step.what });
      log.info(`python set-up: ${shellLine(step.command, step.args)}`);
      const r = await runStep(step.command, step.args, token, (line) => {
        log.debug(line);
        if (/^(Collecting|Downloading|Installing)/.test(line)) progress.report({ message: line.slice(0, 80) });
      });
      if (r !== 'ok') return r;
    }
    return 'ok';
  });
  if (outcome !== 'ok') {
    rmSync(dir, { recursive: true, force: true });
    if (outcome === 'cancelled') void vscode.window.showInformationMessage('TinyFIM: Python set-up cancelled; nothing was kept.');
    else void vscode.window.showErrorMessage(`TinyFIM: Python set-up failed (${outcome}). The TinyFIM log (Open Log) has pip's output.`);
    return undefined;
  }
  const python = venvPython(dir);
  const probe = await probePython(python);
  const why = probe ? probeProblem(probe) : 'its Python does not start';
  if (why) {
    void vscode.window.showErrorMessage(`TinyFIM: the new Python environment cannot fine-tune: ${why}.`);
    return undefined;
  }
  writeFileSync(path.join(dir, READY_FILE), JSON.stringify({ requirements, created: new Date().toISOString() }));
  return python;
}

/** One set-up command; 'ok', 'cancelled' or why it failed. Cancelling kills it. */
function runStep(command: string, args: string[], token: vscode.CancellationToken, onLine: (line: string) => void): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true,
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONDONTWRITEBYTECODE: '1' } });
    let tail = '';
    const take = (d: Buffer) => {
      const text = d.toString();
      tail = (tail + text).slice(-400);
      for (const line of text.split(/\r?\n/)) if (line.trim()) onLine(line.trim());
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    const sub = token.onCancellationRequested(() => child.kill());
    child.on('error', (err) => { sub.dispose(); resolve(`could not start ${command}: ${err.message}`); });
    child.on('close', (code) => {
      sub.dispose();
      if (token.isCancellationRequested) resolve('cancelled');
      else resolve(code === 0 ? 'ok' : `exit code ${code}: ${tail.trim().split('\n').pop() ?? ''}`);
    });
  });
}

async function adaptFinished(plan: AdaptPlan, folderName: string, code: number | null, log: Logger): Promise<void> {
  const result = readAdaptResult(plan.outDir);
  if (code === 0 && modelReady(plan.outDir) && result?.complete) {
    log.info(`adapted model: ${plan.outDir}`);
    const use = 'Use This Model';
    const pick = await vscode.window.showInformationMessage(
      `TinyFIM: the model is adapted to ${folderName}: ${describeResult(result)}. It is in ${plan.outDir}.`, use);
    if (pick === use) {
      await updateSetting('model.path', plan.outDir);
      vscode.window.setStatusBarMessage('$(check) TinyFIM: now using the adapted model', 4000);
    }
    return;
  }
  const why = code === 130 || code === null ? 'was stopped' : code === 0 ? 'ended without a complete model' : `failed (exit code ${code})`;
  const partial = result && modelReady(plan.outDir) ? ` The best weights up to then are in ${plan.outDir}.` : '';
  log.warn(`adapting ${why}`);
  void vscode.window.showWarningMessage(`TinyFIM: adapting the model ${why}; the model in use is unchanged.${partial} The terminal shows more.`);
}
