// The user's controls around the inline provider: snooze, excluded files, partial accepts (next word / next line)
// and saying why Alt+\ found nothing. GatedProvider wraps InlineProvider, so provider.ts stays the plain adapter.
import * as vscode from 'vscode';
import type { Completer, Outcome } from './completer';
import { DEFAULT_EXCLUDE, excludedBy } from './exclude';
import type { InlineProvider, ProviderConfig } from './provider';
import { Snooze } from './snooze';
import { partialChars, type Stats } from './stats';

const SNOOZE_KEY = 'tinyfim.snoozeUntil';

/** Why an explicit request (Alt+\) got nothing, for each reason the completer gives. */
const SKIP_TEXT: Record<string, string> = {
  empty: "the model's answer was empty once it was cleaned up (it only repeated the code around the cursor, or stopped at once)",
  'low-confidence': 'the model was not confident enough (setting tinyfim.completions.minConfidence)',
  'no-engine': 'the model is not loaded (click TinyFIM in the status bar)',
  'file-too-large': 'the file is larger than tinyfim.completions.maxFileSizeKB',
  'line-too-long': 'this line is longer than tinyfim.completions.maxLineLength',
  'mid-word': 'the cursor is inside a word',
  error: 'an error happened (TinyFIM: Open Log says which)',
};

export function describeSkip(reason: string | undefined): string {
  return reason ? SKIP_TEXT[reason] ?? `no suggestion (${reason})` : 'the model gave no suggestion';
}

interface Shown { uri: string; ghost: string; taken: number }

export class Controls implements vscode.Disposable {
  readonly snooze: Snooze;
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fires when the snooze starts or ends (the status bar listens). */
  readonly onDidChange = this.emitter.event;
  private timer: NodeJS.Timeout | undefined;
  private lastShown: Shown | undefined;
  private lastMessage = { text: '', at: 0 };

  constructor(private readonly state: vscode.Memento, private readonly stats: Stats) {
    this.snooze = new Snooze(state.get<number>(SNOOZE_KEY, 0));
    this.arm();
  }

  /** The exclude pattern the document matches, if any. */
  excludedBy(document: vscode.TextDocument): string | undefined {
    if (document.isUntitled) return undefined;
    const patterns = vscode.workspace.getConfiguration('tinyfim').get<string[]>('completions.exclude', DEFAULT_EXCLUDE);
    const rel = vscode.workspace.asRelativePath(document.uri, false);
    return excludedBy(rel, Array.isArray(patterns) ? patterns : DEFAULT_EXCLUDE)?.pattern;
  }

  async startSnooze(minutes: number): Promise<void> {
    await this.state.update(SNOOZE_KEY, this.snooze.start(minutes, Date.now()));
    this.arm();
    vscode.window.setStatusBarMessage(`$(bell-slash) TinyFIM: completions snoozed for ${minutes} min (Alt+\\ still asks)`, 4000);
  }

  async endSnooze(): Promise<void> {
    this.snooze.stop();
    await this.state.update(SNOOZE_KEY, 0);
    this.arm();
  }

  /** Wakes the status bar when the snooze ends (and once a minute before, for the minutes left). */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const left = this.snooze.msLeft(Date.now());
    if (left > 0) this.timer = setTimeout(() => this.arm(), Math.min(left, 60_000) + 50);
    this.emitter.fire();
  }

  /** Remembers the ghost text just shown (for partial accepts). */
  noteShown(document: vscode.TextDocument, position: vscode.Position, item: vscode.InlineCompletionItem): void {
    const text = typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
    const start = item.range ? document.offsetAt(item.range.start) : document.offsetAt(position);
    const typed = Math.max(0, document.offsetAt(position) - start);
    this.lastShown = { uri: document.uri.toString(), ghost: text.slice(typed), taken: 0 };
  }

  /** Runs VS Code's accept-next-word/-line and counts what it inserted when that came from TinyFIM's ghost text. */
  async acceptPartially(kind: 'word' | 'line'): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const command = kind === 'word' ? 'editor.action.inlineSuggest.acceptNextWord' : 'editor.action.inlineSuggest.acceptNextLine';
    if (!editor) {
      await vscode.commands.executeCommand(command);
      return;
    }
    const shown = this.lastShown;
    const uri = editor.document.uri.toString();
    let inserted = '';
    const sub = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.toString() === uri) for (const change of e.contentChanges) inserted += change.text;
    });
    try {
      await vscode.commands.executeCommand(command);
    } finally {
      sub.dispose();
    }
    if (!shown || shown.uri !== uri) return;
    const chars = partialChars(shown.ghost, shown.taken, inserted);
    if (chars === 0) return;
    shown.taken += chars;
    this.stats.partiallyAccepted(chars);
  }

  /** One clear, non-modal message per reason (the same one again within 5 s only flashes in the status bar). */
  explain(text: string, ...actions: string[]): void {
    const now = Date.now();
    if (this.lastMessage.text === text && now - this.lastMessage.at < 5000) {
      vscode.window.setStatusBarMessage(`$(info) ${text}`, 4000);
      return;
    }
    this.lastMessage = { text, at: now };
    void vscode.window.showInformationMessage(text, ...actions).then((pick) => {
      if (pick === 'Open Log') void vscode.commands.executeCommand('tinyfim.openLog');
      else if (pick === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'tinyfim.completions');
      else if (pick?.startsWith('Enable for ')) void vscode.commands.executeCommand('tinyfim.toggleLanguage', pick.slice('Enable for '.length));
    });
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.emitter.dispose();
  }
}

/** Excluded files and the snooze come before the provider; explicit requests that get nothing say why. */
export class GatedProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly inner: InlineProvider,
    private readonly controls: Controls,
    private readonly completer: Completer,
    private readonly config: () => ProviderConfig,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext, token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[]> {
    const invoked = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    const excluded = this.controls.excludedBy(document);
    if (excluded) {
      if (invoked) this.controls.explain(`TinyFIM: no completions in this file: it matches \`${excluded}\` in tinyfim.completions.exclude.`, 'Open Settings');
      return [];
    }
    if (!invoked) {
      if (this.controls.snooze.active(Date.now())) return [];
      return this.remember(document, position, await this.inner.provideInlineCompletionItems(document, position, context, token));
    }
    const why = this.whyNot(document);
    if (why) {
      this.controls.explain(`TinyFIM: no suggestion: ${why.text}`, ...why.actions);
      return [];
    }
    const outcomes: Outcome[] = [];
    const off = this.completer.onEvent((e) => { if (e.kind === 'done') outcomes.push(e.outcome); });
    let items: vscode.InlineCompletionItem[];
    try {
      items = await this.inner.provideInlineCompletionItems(document, position, context, token);
    } finally {
      off();
    }
    const last = outcomes[outcomes.length - 1];
    if (items.length === 0 && !token.isCancellationRequested && last?.skipped !== 'cancelled') {
      const actions = last?.skipped === 'error' || last?.skipped === 'no-engine' ? ['Open Log']
        : last?.skipped === 'file-too-large' || last?.skipped === 'line-too-long' ? ['Open Settings'] : [];
      this.controls.explain(`TinyFIM: no suggestion here: ${describeSkip(last?.skipped)}.`, ...actions);
    }
    return this.remember(document, position, items);
  }

  /** Reasons the provider returns nothing before asking the model. */
  private whyNot(document: vscode.TextDocument): { text: string; actions: string[] } | undefined {
    const cfg = this.config();
    if (!cfg.languages.includes(document.languageId) && !cfg.languages.includes('*')) {
      return {
        text: `completions are on for ${cfg.languages.join(', ') || 'no language'}, and this file is ${document.languageId} `
          + '(setting tinyfim.completions.languages; the default model knows Python only).',
        actions: [`Enable for ${document.languageId}`],
      };
    }
    const editor = vscode.window.activeTextEditor;
    if (editor?.document === document && editor.selections.length > 1) return { text: 'there are several cursors; TinyFIM completes at one cursor only.', actions: [] };
    if (editor?.document === document && !editor.selection.isEmpty) return { text: 'text is selected; clear the selection first.', actions: [] };
    return undefined;
  }

  private remember(document: vscode.TextDocument, position: vscode.Position, items: vscode.InlineCompletionItem[]): vscode.InlineCompletionItem[] {
    if (items[0]) this.controls.noteShown(document, position, items[0]);
    return items;
  }
}
