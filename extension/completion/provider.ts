// The InlineCompletionItemProvider: a thin adapter from vscode types to the Completer (stable API only).
import * as vscode from 'vscode';
import type { Logger } from '../log';
import type { Completer } from './completer';
import { DEFAULT_SETTINGS, settingDefault, type CompleterSettings } from './settings';
import { applySelected, extendSelected } from './selected';

/** Schemes that are real editors (not SCM, chat, output or other input boxes). */
export const SCHEMES = ['file', 'untitled', 'vscode-notebook-cell', 'vscode-remote', 'vscode-userdata'];

export const ACCEPT_COMMAND = 'tinyfim.accepted';

export interface ProviderConfig {
  enabled: boolean;
  languages: string[];
  settings: CompleterSettings;
}

/** The settings as the user has them. Each completion setting is `tinyfim.completions.<key of CompleterSettings>`;
 *  VS Code fills in package.json's defaults, which DEFAULT_SETTINGS also holds. */
export function readConfig(): ProviderConfig {
  const c = vscode.workspace.getConfiguration('tinyfim');
  const settings = Object.fromEntries(Object.entries(DEFAULT_SETTINGS).map(([key, dflt]) => [key, c.get<number>(`completions.${key}`, dflt)]));
  return {
    enabled: c.get<boolean>('completions.enable', settingDefault('tinyfim.completions.enable')),
    languages: c.get<string[]>('completions.languages', settingDefault('tinyfim.completions.languages')),
    settings: settings as unknown as CompleterSettings,
  };
}

export class InlineProvider implements vscode.InlineCompletionItemProvider {
  constructor(
    private readonly completer: Completer,
    private readonly config: () => ProviderConfig,
    private readonly log: Logger,
  ) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[]> {
    try {
      const cfg = this.config();
      const invoked = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
      if (!cfg.enabled && !invoked) return [];
      if (!cfg.languages.includes(document.languageId) && !cfg.languages.includes('*')) return [];
      if (!SCHEMES.includes(document.uri.scheme)) return [];
      // The suggest widget is open: complete the text as it will be with the selected item applied, and return an
      // item that extends that item (VS Code shows no other inline item then).
      const info = context.selectedCompletionInfo;
      const selected = info
        ? { start: document.offsetAt(info.range.start), end: document.offsetAt(info.range.end), text: info.text }
        : undefined;
      const editor = vscode.window.activeTextEditor;
      const own = editor?.document === document ? editor : undefined;
      if (own && (own.selections.length > 1 || !own.selection.isEmpty)) return [];
      // Cheap size check before copying the text.
      const length = document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
      if (length > cfg.settings.maxFileSizeKB * 1024) return [];

      const applied = selected ? applySelected(document.getText(), selected)
        : { text: document.getText(), offset: document.offsetAt(position) };
      const abort = new AbortController();
      const sub = token.onCancellationRequested(() => abort.abort());
      try {
        const outcome = await this.completer.complete({
          docId: document.uri.toString(),
          ...applied,
          languageId: document.languageId,
          indent: {
            insertSpaces: own?.options.insertSpaces !== false,
            tabSize: typeof own?.options.tabSize === 'number' ? own.options.tabSize : 4,
          },
          trigger: invoked ? 'invoke' : 'automatic',
          signal: abort.signal,
        });
        const c = outcome.completion && selected ? extendSelected(applied, selected, outcome.completion) : outcome.completion;
        if (!c || !outcome.completion || token.isCancellationRequested) {
          if (invoked && outcome.skipped && outcome.skipped !== 'cancelled') {
            vscode.window.setStatusBarMessage(`$(info) TinyFIM: no suggestion here (${outcome.skipped})`, 3000);
          }
          return [];
        }
        // Always an explicit range: the cursor, plus the auto-closed closers the completion re-adds.
        const range = new vscode.Range(document.positionAt(c.start), document.positionAt(c.end));
        const item = new vscode.InlineCompletionItem(c.insertText, range, {
          title: 'TinyFIM: accepted', command: ACCEPT_COMMAND, arguments: [outcome.completion.id, outcome.completion.insertText.length],
        });
        // A manual trigger's other suggestions (not beside the suggest widget): VS Code's Alt+] / Alt+[ cycle them.
        const others = selected ? [] : (outcome.candidates ?? []).slice(1).map((k) => new vscode.InlineCompletionItem(
          k.insertText, new vscode.Range(document.positionAt(k.start), document.positionAt(k.end)),
          { title: 'TinyFIM: accepted', command: ACCEPT_COMMAND, arguments: [k.id, k.insertText.length] }));
        return [item, ...others];
      } finally {
        sub.dispose();
      }
    } catch (err) {
      this.log.error(`inline completion: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return [];
    }
  }
}
