// Registers the inline completion provider, its commands and the status-bar item, all as disposables.
import * as vscode from 'vscode';
import { updateSetting, type EngineHost } from '../engineHost';
import type { Logger } from '../log';
import { Completer, type Outcome } from './completer';
import { Controls, GatedProvider } from './controls';
import { ACCEPT_COMMAND, InlineProvider, SCHEMES, readConfig } from './provider';
import { SNOOZE_MINUTES, withLanguage, withoutLanguage } from './snooze';
import { Stats } from './stats';

export function registerCompletions(context: vscode.ExtensionContext, host: EngineHost, log: Logger): void {
  const stats = new Stats(context.globalState);
  const completer = new Completer(() => host.getEngine(), () => readConfig().settings, { log, stats });
  const controls = new Controls(context.globalState, stats);
  const provider = new GatedProvider(new InlineProvider(completer, readConfig, log), controls, completer, readConfig);
  const status = new StatusBar(host, completer, controls);

  context.subscriptions.push(
    vscode.languages.registerInlineCompletionItemProvider(SCHEMES.map((scheme) => ({ scheme })), provider),
    controls,
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
      // Only a Close button, so Enter cannot reset anything; resetting is its own command, which asks first.
      const detail = [...stats.summary(), '', 'To start counting again: TinyFIM: Reset Statistics…'].join('\n');
      await vscode.window.showInformationMessage('TinyFIM statistics', { modal: true, detail }, { title: 'Close', isCloseAffordance: true });
    }),
    vscode.commands.registerCommand('tinyfim.resetStats', async () => {
      const reset: vscode.MessageItem = { title: 'Reset' };
      const keep: vscode.MessageItem = { title: 'Keep', isCloseAffordance: true };
      const pick = await vscode.window.showWarningMessage('Reset the TinyFIM statistics to zero?', { modal: true, detail: stats.summary().join('\n') },
        reset, keep);
      if (pick === reset) await stats.reset();
    }),
    vscode.commands.registerCommand('tinyfim.statusMenu', () => statusMenu(host, controls)),
    vscode.commands.registerCommand('tinyfim.snooze', async (minutes?: unknown) => {
      const chosen = typeof minutes === 'number' ? minutes : await pickSnooze();
      if (chosen !== undefined) await controls.startSnooze(chosen);
    }),
    vscode.commands.registerCommand('tinyfim.resume', () => controls.endSnooze()),
    vscode.commands.registerCommand('tinyfim.toggleLanguage', (language?: unknown) =>
      toggleLanguage(typeof language === 'string' ? language : vscode.window.activeTextEditor?.document.languageId)),
    vscode.commands.registerCommand('tinyfim.acceptNextWord', () => controls.acceptPartially('word')),
    vscode.commands.registerCommand('tinyfim.acceptNextLine', () => controls.acceptPartially('line')),
  );
  noteIgnoredModelPath();
}

/** In Restricted Mode VS Code ignores the folder's tinyfim.model.path (package.json restrictedConfigurations): say so. */
function noteIgnoredModelPath(): void {
  const where = vscode.workspace.getConfiguration('tinyfim').inspect<string>('model.path');
  const value = where?.workspaceFolderValue || where?.workspaceValue;
  if (vscode.workspace.isTrusted || !value) return;
  const manage = 'Manage Workspace Trust';
  void vscode.window.showInformationMessage(
    `TinyFIM: this folder sets tinyfim.model.path to ${value}, which is ignored in Restricted Mode (a folder's settings may not `
    + 'point TinyFIM at other files until you trust it); the bundled model or your user setting is used.', manage,
  ).then((pick) => pick === manage && vscode.commands.executeCommand('workbench.trust.manage'));
}

async function pickSnooze(): Promise<number | undefined> {
  const pick = await vscode.window.showQuickPick(SNOOZE_MINUTES.map((m) => ({ label: `${m} minutes`, minutes: m })),
    { title: 'TinyFIM: snooze automatic completions for…' });
  return pick?.minutes;
}

/** Turns completions off for a language that has them, or on for one that does not (user settings). */
async function toggleLanguage(language: string | undefined): Promise<void> {
  if (!language) return;
  const languages = readConfig().languages;
  const on = languages.includes(language) || languages.includes('*');
  const next = on ? withoutLanguage(languages, language) : withLanguage(languages, language);
  if (!next) {
    void vscode.window.showInformationMessage(
      `TinyFIM: tinyfim.completions.languages is "*" (every language); list the languages you want instead to leave out ${language}.`, 'Open Settings',
    ).then((pick) => pick && vscode.commands.executeCommand('workbench.action.openSettings', 'tinyfim.completions.languages'));
    return;
  }
  await updateSetting('completions.languages', next);
  vscode.window.setStatusBarMessage(`TinyFIM: inline completions ${on ? 'off' : 'on'} for ${language}`, 4000);
}

async function statusMenu(host: EngineHost, controls: Controls): Promise<void> {
  const cfg = readConfig();
  const state = host.state;
  const language = vscode.window.activeTextEditor?.document.languageId;
  const languageOn = language !== undefined && (cfg.languages.includes(language) || cfg.languages.includes('*'));
  const now = Date.now();
  const snoozed = controls.snooze.active(now);
  const items: (vscode.QuickPickItem & { run: () => unknown })[] = [
    {
      label: cfg.enabled ? '$(circle-slash) Disable inline completions' : '$(check) Enable inline completions',
      description: cfg.enabled ? '' : 'Alt+\\ still asks for one',
      run: () => vscode.commands.executeCommand('tinyfim.toggle'),
    },
    ...(snoozed
      ? [{ label: '$(bell) Resume completions now', description: `snoozed, ${controls.snooze.minutesLeft(now)} min left`, run: () => controls.endSnooze() }]
      : SNOOZE_MINUTES.map((m) => ({
        label: `$(bell-slash) Snooze for ${m} minutes`, description: m === SNOOZE_MINUTES[0] ? 'automatic completions pause; Alt+\\ still asks' : '',
        run: () => controls.startSnooze(m),
      }))),
    ...(language ? [{
      label: languageOn ? `$(circle-slash) Disable for ${language}` : `$(check) Enable for ${language}`,
      description: 'setting tinyfim.completions.languages',
      run: () => toggleLanguage(language),
    }] : []),
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

  constructor(private readonly host: EngineHost, completer: Completer, private readonly controls: Controls) {
    this.item.name = 'TinyFIM';
    this.item.command = 'tinyfim.statusMenu';
    this.off = completer.onEvent((e) => {
      this.busy = e.busy;
      if (e.kind === 'done' && (e.outcome.modelMs !== undefined || e.outcome.completion)) this.last = e.outcome;
      this.update();
    });
    this.disposables.push(
      host.onDidChangeState(() => this.update()),
      controls.onDidChange(() => this.update()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
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
    const now = Date.now();
    const snoozed = this.controls.snooze.active(now);
    const document = vscode.window.activeTextEditor?.document;
    const excluded = document ? this.controls.excludedBy(document) : undefined;
    if (state.kind !== 'error' && state.kind !== 'loading' && !this.busy && cfg.enabled) {
      if (snoozed) icon = '$(bell-slash)';
      else if (excluded) icon = '$(lock)';
    }
    // A typing-through hit costs no model call: say where it came from rather than claim a latency.
    if (snoozed) text = ` ${this.controls.snooze.minutesLeft(now)} min`;
    else if (this.last?.completion?.source === 'cache') text = ' cached';
    else if (this.last?.modelMs !== undefined) text = ` ${Math.round(this.last.modelMs)} ms`;
    this.item.text = `${icon} TinyFIM${text}`;
    tip.appendMarkdown(`**TinyFIM** — ${describeState(this.host)}\n\n`);
    tip.appendMarkdown(cfg.enabled ? 'Inline completions: on' : 'Inline completions: off (Alt+\\ still asks)');
    if (language && !cfg.languages.includes(language) && !cfg.languages.includes('*')) {
      tip.appendMarkdown(`, not for \`${language}\` (setting *tinyfim.completions.languages*)`);
    }
    if (snoozed) tip.appendMarkdown(`\n\n$(bell-slash) Snoozed: automatic completions resume in ${this.controls.snooze.minutesLeft(now)} min (Alt+\\ still asks).`);
    if (excluded) tip.appendMarkdown(`\n\n$(lock) No completions in this file: it matches \`${excluded}\` (setting *tinyfim.completions.exclude*).`);
    if (!vscode.workspace.isTrusted) {
      tip.appendMarkdown('\n\n$(shield) Restricted Mode: completions and predictions work; "Run and compare" and training are off until you trust this folder.');
      const modelPath = vscode.workspace.getConfiguration('tinyfim').inspect<string>('model.path');
      if (modelPath?.workspaceValue || modelPath?.workspaceFolderValue) {
        tip.appendMarkdown(" This folder's *tinyfim.model.path* is ignored (a folder's settings may not point TinyFIM at files until it is trusted).");
      }
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
  if (o.completion?.source === 'cache') return `${o.completion.mode}-line suggestion from the typing-through cache (no model call)`;
  if (o.completion) return `${o.completion.mode}-line suggestion from the model${o.modelMs !== undefined ? ` in ${Math.round(o.modelMs)} ms` : ''}`;
  return `no suggestion (${o.skipped ?? 'unknown'})`;
}
