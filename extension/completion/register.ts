// Registers the inline completion provider, its commands and the status-bar item, all as disposables.
import * as vscode from 'vscode';
import { updateSetting, type EngineHost } from '../engineHost';
import type { Logger } from '../log';
import { Completer, type Outcome } from './completer';
import { ACCEPT_COMMAND, InlineProvider, SCHEMES, readConfig } from './provider';
import { Stats } from './stats';

export function registerCompletions(context: vscode.ExtensionContext, host: EngineHost, log: Logger): void {
  const stats = new Stats(context.globalState);
  const completer = new Completer(() => host.getEngine(), () => readConfig().settings, { log, stats });
  const provider = new InlineProvider(completer, readConfig, log);
  const status = new StatusBar(host, completer);

  context.subscriptions.push(
    vscode.languages.registerInlineCompletionItemProvider(SCHEMES.map((scheme) => ({ scheme })), provider),
    status,
    { dispose: () => void stats.flush() },
    vscode.workspace.onDidCloseTextDocument((doc) => completer.cache.clear(doc.uri.toString())),
    vscode.commands.registerCommand(ACCEPT_COMMAND, (_id: number, chars: number) => stats.accepted(Number(chars) || 0)),
    vscode.commands.registerCommand('tinyfim.toggle', async () => {
      const enabled = readConfig().enabled;
      await updateSetting('completions.enable', !enabled);
      vscode.window.setStatusBarMessage(`TinyFIM inline completions ${enabled ? 'off (Alt+\\ still asks)' : 'on'}`, 3000);
    }),
    vscode.commands.registerCommand('tinyfim.triggerNow', () =>
      vscode.commands.executeCommand('editor.action.inlineSuggest.trigger')),
    vscode.commands.registerCommand('tinyfim.chooseModel', async () => {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
        openLabel: 'Use This Model', title: 'TinyFIM: choose a model folder (model.json, model.onnx, tokenizer.json)',
      });
      if (!picked?.[0]) return;
      await updateSetting('model.path', picked[0].fsPath);
      host.retry();
    }),
    vscode.commands.registerCommand('tinyfim.showStats', async () => {
      const lines = stats.summary();
      const reset = 'Reset Statistics';
      const pick = await vscode.window.showInformationMessage('TinyFIM statistics', { modal: true, detail: lines.join('\n') }, reset);
      if (pick === reset) await stats.reset();
    }),
    vscode.commands.registerCommand('tinyfim.statusMenu', () => statusMenu(host)),
  );
}

async function statusMenu(host: EngineHost): Promise<void> {
  const cfg = readConfig();
  const state = host.state;
  const items: (vscode.QuickPickItem & { run: () => unknown })[] = [
    {
      label: cfg.enabled ? '$(circle-slash) Disable inline completions' : '$(check) Enable inline completions',
      description: cfg.enabled ? '' : 'Alt+\\ still asks for one',
      run: () => vscode.commands.executeCommand('tinyfim.toggle'),
    },
    { label: '$(zap) Trigger completion now', description: 'Alt+\\', run: () => vscode.commands.executeCommand('tinyfim.triggerNow') },
    {
      label: '$(folder-opened) Choose model folder…',
      description: state.kind === 'ready' ? `now: ${state.name}` : state.kind === 'error' ? 'the model did not load' : '',
      run: () => vscode.commands.executeCommand('tinyfim.chooseModel'),
    },
    { label: '$(refresh) Reload model', run: () => host.retry() },
    { label: '$(graph) Show statistics', run: () => vscode.commands.executeCommand('tinyfim.showStats') },
    { label: '$(output) Open log', run: () => vscode.commands.executeCommand('tinyfim.openLog') },
    { label: '$(gear) Settings', run: () => vscode.commands.executeCommand('workbench.action.openSettings', 'tinyfim') },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'TinyFIM', placeHolder: describeState(host) });
  await pick?.run();
}

function describeState(host: EngineHost): string {
  const s = host.state;
  switch (s.kind) {
    case 'ready': return `Model '${s.name}' loaded from ${s.dir} in ${s.loadMs} ms`;
    case 'loading': return `Loading the model from ${s.dir}…`;
    case 'error': return s.message;
    default: return 'The model loads on first use';
  }
}

/** State (model, enabled, busy), last latency; click for the menu. */
class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tinyfim.status', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  private busy = false;
  private last: Outcome | undefined;
  private readonly off: () => void;

  constructor(private readonly host: EngineHost, completer: Completer) {
    this.item.name = 'TinyFIM';
    this.item.command = 'tinyfim.statusMenu';
    this.off = completer.onEvent((e) => {
      this.busy = e.busy;
      if (e.kind === 'done' && (e.outcome.modelMs !== undefined || e.outcome.completion)) this.last = e.outcome;
      this.update();
    });
    this.disposables.push(
      host.onDidChangeState(() => this.update()),
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tinyfim') || e.affectsConfiguration('editor.inlineSuggest.enabled')) this.update();
      }),
    );
    this.update();
    this.item.show();
  }

  private update(): void {
    const cfg = readConfig();
    const state = this.host.state;
    const language = vscode.window.activeTextEditor?.document.languageId;
    const inlineOn = vscode.workspace.getConfiguration('editor').get<boolean>('inlineSuggest.enabled', true);
    const tip = new vscode.MarkdownString('', true);
    let icon = '$(sparkle)';
    let text = '';
    this.item.backgroundColor = undefined;
    if (state.kind === 'error') {
      icon = '$(warning)';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    } else if (state.kind === 'loading' || this.busy) {
      icon = '$(loading~spin)';
    } else if (!cfg.enabled) {
      icon = '$(circle-slash)';
    } else if (language && !cfg.languages.includes(language) && !cfg.languages.includes('*')) {
      icon = '$(circle-outline)';
    }
    if (this.last?.completion?.source === 'cache') text = ' 0 ms';
    else if (this.last?.modelMs !== undefined) text = ` ${Math.round(this.last.modelMs)} ms`;
    this.item.text = `${icon} TinyFIM${text}`;
    tip.appendMarkdown(`**TinyFIM** — ${describeState(this.host)}\n\n`);
    tip.appendMarkdown(cfg.enabled ? 'Inline completions: on' : 'Inline completions: off (Alt+\\ still asks)');
    if (language && !cfg.languages.includes(language) && !cfg.languages.includes('*')) {
      tip.appendMarkdown(`, not for \`${language}\` (setting *tinyfim.completions.languages*)`);
    }
    if (!inlineOn) tip.appendMarkdown('\n\n$(warning) `editor.inlineSuggest.enabled` is off: VS Code hides all ghost text.');
    if (this.last) tip.appendMarkdown(`\n\nLast request: ${lastLine(this.last)}`);
    tip.appendMarkdown('\n\nClick for the menu.');
    this.item.tooltip = tip;
  }

  dispose(): void {
    this.off();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.item.dispose();
  }
}

function lastLine(o: Outcome): string {
  if (o.completion) return `${o.completion.mode}-line suggestion from the ${o.completion.source}${o.modelMs !== undefined ? `, model ${Math.round(o.modelMs)} ms` : ''}`;
  return `no suggestion (${o.skipped ?? 'unknown'})`;
}
