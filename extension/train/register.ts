// "TinyFIM: Train a Model on This Workspace": runs the trainer pipeline on a workspace folder in an integrated
// terminal, and when it finishes offers to switch completions and hovers to the new model.
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { updateSetting } from '../engineHost';
import type { Logger } from '../log';
import { isTrainerRoot, listPresets, modelReady, planTraining, shellLine, toTerminalText, trainerPython, type TrainPlan } from './plan';

export const TRAIN_COMMAND = 'tinyfim.trainOnWorkspace';
const LAST_PRESET = 'tinyfim.train.lastPreset';

export function registerTraining(context: vscode.ExtensionContext, log: Logger): void {
  const running = new Set<TrainerTerminal>();
  context.subscriptions.push(
    vscode.commands.registerCommand(TRAIN_COMMAND, () => trainOnWorkspace(context, log, running)),
    { dispose: () => { for (const t of running) t.stop(); } },
  );
}

async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which folder\'s Python files should the model learn from?' });
}

/** The setting, else a workspace folder that is a TinyFIM checkout, else ask once and remember. */
async function findTrainer(): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('tinyfim.train');
  const setting = config.get<string>('trainerPath', '').trim();
  if (setting) {
    if (isTrainerRoot(setting)) return setting;
    void vscode.window.showErrorMessage(`TinyFIM: ${setting} (setting tinyfim.train.trainerPath) has no trainer/ package with presets.`);
    return undefined;
  }
  const inWorkspace = (vscode.workspace.workspaceFolders ?? []).find((f) => isTrainerRoot(f.uri.fsPath));
  if (inWorkspace) return inWorkspace.uri.fsPath;
  const locate = 'Locate TinyFIM Checkout…';
  const pick = await vscode.window.showInformationMessage(
    'TinyFIM: training needs the TinyFIM trainer (a checkout of the TinyFIM repository, set up with scripts/setup.sh).',
    locate);
  if (pick !== locate) return undefined;
  const chosen = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, openLabel: 'Use This Checkout',
    title: 'TinyFIM: locate the TinyFIM checkout (the folder that holds trainer/ and scripts/)',
  });
  const dir = chosen?.[0]?.fsPath;
  if (!dir) return undefined;
  if (!isTrainerRoot(dir)) {
    void vscode.window.showErrorMessage(`TinyFIM: ${dir} has no trainer/ package; choose the folder that holds trainer/ and scripts/.`);
    return undefined;
  }
  await config.update('trainerPath', dir, vscode.ConfigurationTarget.Global);
  return dir;
}

async function trainOnWorkspace(context: vscode.ExtensionContext, log: Logger, running: Set<TrainerTerminal>): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    // Training runs Python (the trainer) over this folder: not in a folder the user has not trusted.
    const manage = 'Manage Workspace Trust';
    const pick = await vscode.window.showWarningMessage(
      'TinyFIM: training runs the trainer on this folder, so it is off in Restricted Mode. Trust the folder to train on it.', manage);
    if (pick === manage) await vscode.commands.executeCommand('workbench.trust.manage');
    return;
  }
  const folder = await pickFolder();
  if (!folder) {
    void vscode.window.showWarningMessage('TinyFIM: open a folder with Python code first; the model learns from its files.');
    return;
  }
  const trainerRoot = await findTrainer();
  if (!trainerRoot) return;
  const presets = listPresets(trainerRoot);
  if (presets.length === 0) {
    void vscode.window.showErrorMessage(`TinyFIM: no presets in ${trainerRoot}/trainer/presets.`);
    return;
  }
  const last = context.globalState.get<string>(LAST_PRESET, 'small');
  const items = presets.map((p) => ({ label: p.name, detail: p.about, picked: p.name === last }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  const preset = await vscode.window.showQuickPick(items, {
    title: `TinyFIM: train on ${folder.name}`, placeHolder: 'Model size (preset); larger ones train longer and complete better',
  });
  if (!preset) return;
  await context.globalState.update(LAST_PRESET, preset.label);

  const config = vscode.workspace.getConfiguration('tinyfim.train');
  const python = trainerPython(trainerRoot, config.get<string>('pythonPath', ''));
  const extraArgs = config.get<unknown[]>('extraArgs', []).filter((a): a is string => typeof a === 'string');
  const plan = planTraining({
    trainerRoot, python, corpusDir: folder.uri.fsPath, preset: preset.label, storageDir: context.globalStorageUri.fsPath,
    now: new Date(), extraArgs,
  });
  log.info(`training: ${shellLine(plan.python, plan.args)} (in ${plan.cwd})`);
  const terminal = new TrainerTerminal(plan, (code) => {
    running.delete(terminal);
    void finished(plan, code, log);
  });
  running.add(terminal);
  const term = vscode.window.createTerminal({ name: `TinyFIM: train (${preset.label})`, pty: terminal });
  term.show();
}

async function finished(plan: TrainPlan, code: number | null, log: Logger): Promise<void> {
  if (code === 0 && modelReady(plan.outDir)) {
    log.info(`training finished: ${plan.outDir}`);
    const use = 'Use This Model';
    const pick = await vscode.window.showInformationMessage(`TinyFIM: training finished. The new model is in ${plan.outDir}.`, use);
    if (pick === use) {
      await updateSetting('model.path', plan.outDir);
      vscode.window.setStatusBarMessage('$(check) TinyFIM: now using the new model', 4000);
    }
    return;
  }
  const why = code === null ? 'was stopped' : code === 0 ? 'ended without an exported model' : `failed (exit code ${code})`;
  log.warn(`training ${why}`);
  void vscode.window.showErrorMessage(`TinyFIM: training ${why}. The terminal shows why; run the command again to resume where it stopped.`);
}

/** An integrated terminal that runs the pipeline as a child process: Ctrl+C interrupts it (the trainer keeps its
 * work), closing the terminal stops it, and the exit code reaches the extension. */
export class TrainerTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private child: ChildProcess | undefined;
  private done = false;

  constructor(private readonly plan: TrainPlan, private readonly onExit: (code: number | null) => void) {}

  open(): void {
    this.write(`\x1b[1m$ ${shellLine(this.plan.python, this.plan.args)}\x1b[0m\n(in ${this.plan.cwd}; Ctrl+C stops and keeps the work done so far)\n\n`);
    const child = spawn(this.plan.python, this.plan.args, {
      cwd: this.plan.cwd, env: { ...process.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.write(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.write(d.toString()));
    child.on('error', (err) => {
      this.write(`\n\x1b[31mcould not start ${this.plan.python}: ${err.message}\x1b[0m\nSet tinyfim.train.pythonPath, or run scripts/setup.sh in the TinyFIM checkout.\n`);
      this.end(null);
    });
    child.on('close', (code, signal) => {
      const ok = code === 0;
      this.write(`\n\x1b[${ok ? 32 : 31}m${ok ? 'done' : `exited with ${code ?? signal}`}\x1b[0m. Press any key to close this terminal.\n`);
      this.end(code);
    });
  }

  handleInput(data: string): void {
    if (this.done) this.closeEmitter.fire();
    else if (data === '\x03') this.child?.kill('SIGINT');
  }

  close(): void { this.stop(); }

  /** Interrupts the trainer (it saves its state), then kills it if it does not stop within 10 s. */
  stop(): void {
    const child = this.child;
    if (this.done || !child || child.exitCode !== null) return;
    child.kill('SIGINT');
    setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 10_000).unref();
  }

  private end(code: number | null): void {
    if (this.done) return;
    this.done = true;
    this.onExit(code);
  }

  private write(text: string): void { this.writeEmitter.fire(toTerminalText(text)); }
}
