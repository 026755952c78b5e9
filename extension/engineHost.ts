// The editor's model: reads tinyfim.model.path / tinyfim.engine.threads, loads in the background, reloads on
// change, and tells the user once, with a fix, when the model cannot load. Never throws into VS Code.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Engine } from './engine';
import type { Logger } from './log';
import { ModelLoader, resolveModelDir, type EngineState } from './modelLoader';

export type { EngineState } from './modelLoader';

/** Writes a tinyfim setting where it is currently defined (folder, workspace or user), so it takes effect. */
export async function updateSetting(key: string, value: unknown): Promise<void> {
  const config = vscode.workspace.getConfiguration('tinyfim');
  const where = config.inspect(key);
  const target = where?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder
    : where?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
  await config.update(key, value, target);
}

export class EngineHost implements vscode.Disposable {
  private readonly loader: ModelLoader;
  private readonly emitter = new vscode.EventEmitter<EngineState>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly notified = new Set<string>();
  /** Fires whenever the model state changes (loading, ready, error). */
  readonly onDidChangeState = this.emitter.event;
  readonly bundledDir: string;

  constructor(context: vscode.ExtensionContext, private readonly log: Logger) {
    this.bundledDir = path.join(context.extensionPath, 'models', 'default');
    this.loader = new ModelLoader(this.bundledDir, log);
    this.disposables.push(this.emitter);
    const off = this.loader.onState((s) => {
      this.emitter.fire(s);
      if (s.kind === 'error') void this.notify(s);
    });
    this.disposables.push({ dispose: off });
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tinyfim.model.path') || e.affectsConfiguration('tinyfim.engine.threads')) {
        this.configure();
        void this.getEngine(); // load now, so errors show up while the user is looking at the setting
      }
    }));
    // Trusting the folder makes its own tinyfim.model.path count (restrictedConfigurations in package.json).
    this.disposables.push(vscode.workspace.onDidGrantWorkspaceTrust(() => this.configure()));
    this.configure();
    // Load in the background shortly after activation, so the first completion does not wait for it.
    const timer = setTimeout(() => void this.getEngine(), 500);
    this.disposables.push({ dispose: () => clearTimeout(timer) });
  }

  get state(): EngineState { return this.loader.state; }

  /** The model folder the settings point at. */
  get modelDir(): string {
    const setting = vscode.workspace.getConfiguration('tinyfim').get<string>('model.path', '');
    return resolveModelDir(setting, this.bundledDir, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  }

  private configure(): void {
    const threads = vscode.workspace.getConfiguration('tinyfim').get<number>('engine.threads', 1);
    this.loader.configure({ dir: this.modelDir, threads: Math.max(1, Math.floor(threads || 1)) });
  }

  /** The loaded engine, or undefined when it cannot load. Safe to call concurrently; never rejects. */
  getEngine(): Promise<Engine | undefined> {
    return this.loader.getEngine().catch((err: unknown) => {
      this.log.error(`model loading failed: ${String(err)}`);
      return undefined;
    });
  }

  /** Tries the same folder again (after the user fixed it). */
  retry(): void {
    this.notified.clear();
    this.loader.retry();
    void this.getEngine();
  }

  private async notify(s: Extract<EngineState, { kind: 'error' }>): Promise<void> {
    const key = `${s.dir}\u0000${s.code}`;
    if (this.notified.has(key)) return;
    this.notified.add(key);
    const choose = 'Choose Model Folder…';
    const openLog = 'Open Log';
    const bundled = 'Use Bundled Model';
    const actions = s.dir === this.bundledDir ? [choose, openLog] : [choose, bundled, openLog];
    try {
      const pick = await vscode.window.showErrorMessage(`${s.message} Completions are off until a model loads.`, ...actions);
      if (pick === choose) await vscode.commands.executeCommand('tinyfim.chooseModel');
      else if (pick === openLog) await vscode.commands.executeCommand('tinyfim.openLog');
      else if (pick === bundled) {
        await updateSetting('model.path', '');
      }
    } catch (err) {
      this.log.warn(`model error notification: ${String(err)}`);
    }
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    void this.loader.dispose().catch((err: unknown) => this.log.warn(`disposing the engine: ${String(err)}`));
  }
}
