// The integrated terminal that training and adapting run in, and the checks both commands start with.
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { shellLine, toTerminalText } from './plan';

/** What the terminal runs: `python args...` in `cwd`, with `env` added to the editor's environment. */
export interface TerminalPlan { python: string; args: string[]; cwd: string; env?: Record<string, string> }

/** True (after saying why, with a way to trust the folder) when the folder is in Restricted Mode: both commands run
 * Python over the folder's files, which needs the user's trust. `what` says what runs, e.g. "training runs ...". */
export async function refuseInRestrictedMode(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return false;
  const manage = 'Manage Workspace Trust';
  const pick = await vscode.window.showWarningMessage(
    `TinyFIM: ${what}, so it is off in Restricted Mode. Trust the folder to use it.`, manage);
  if (pick === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return true;
}

export async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Which folder\'s Python files should the model learn from?' });
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

  constructor(private readonly plan: TerminalPlan, private readonly onExit: (code: number | null) => void) {}

  open(): void {
    this.write(`\x1b[1m$ ${shellLine(this.plan.python, this.plan.args)}\x1b[0m\n(in ${this.plan.cwd}; Ctrl+C stops and keeps the work done so far)\n\n`);
    const child = spawn(this.plan.python, this.plan.args, {
      cwd: this.plan.cwd, env: { ...process.env, ...this.plan.env, PYTHONUNBUFFERED: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.write(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.write(d.toString()));
    child.on('error', (err) => {
      this.write(`\n\x1b[31mcould not start ${this.plan.python}: ${err.message}\x1b[0m\nCheck the setting tinyfim.train.pythonPath.\n`);
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
