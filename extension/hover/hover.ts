// The vscode adapter of the trace-prediction hover: reads settings and the document, asks the pure parts
// (snippet, subset, predict, card, run) and turns their answers into a Hover and two commands.
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import type { Engine } from '../engine';
import type { Logger } from '../log';
import { buildCard, COPY_COMMAND, predictionText, RUN_COMMAND, runSummary } from './card';
import { HoverState, modelIdOf, predictTasks } from './predict';
import { runSnippet } from './run';
import { selectSnippet } from './snippet';
import { outsideSubset } from './subset';

/** What the hover needs from the engine host (extension/engineHost.ts). */
export interface EngineSource {
  getEngine(): Promise<Engine | undefined>;
}

/** Default wall-clock budget for all of one hover's predictions (setting tinyfim.hover.timeBudgetMs); the editor
 *  shows "Loading…" meanwhile. */
export const HOVER_BUDGET_MS = 3000;

function settings(uri: vscode.Uri) {
  const c = vscode.workspace.getConfiguration('tinyfim.hover', uri);
  return {
    enable: c.get<boolean>('enable', true),
    tasks: c.get<string[]>('tasks', ['output', 'line_count']),
    maxLines: c.get<number>('maxLines', 40),
    pythonPath: c.get<string>('pythonPath', 'python3').trim() || 'python3',
    timeoutSeconds: c.get<number>('timeoutSeconds', 5),
    budgetMs: c.get<number>('timeBudgetMs', HOVER_BUDGET_MS),
  };
}

function markdown(text: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString(text, true);
  md.isTrusted = { enabledCommands: [RUN_COMMAND, COPY_COMMAND] };
  md.supportHtml = false;
  return md;
}

export class TraceHoverProvider implements vscode.HoverProvider {
  constructor(private readonly host: EngineSource, private readonly state: HoverState, private readonly log: Logger) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const cfg = settings(document.uri);
    if (!cfg.enable) return undefined;
    const editor = vscode.window.activeTextEditor;
    const selection = editor && editor.document === document && !editor.selection.isEmpty ? editor.selection : undefined;
    const lines = document.getText().split(/\r?\n/);
    const snippet = selectSnippet(lines, position, { maxLines: cfg.maxLines, selection });
    if (!snippet) return undefined;
    const engine = await this.host.getEngine();
    if (!engine || token.isCancellationRequested) return undefined;
    const available = engine.tasks();
    const tasks = cfg.tasks.filter((t, i) => available.includes(t) && cfg.tasks.indexOf(t) === i);
    if (tasks.length === 0) return undefined;

    const controller = new AbortController();
    const listener = token.onCancellationRequested(() => controller.abort());
    try {
      const t0 = Date.now();
      const result = await predictTasks(engine, modelIdOf(engine), snippet.text, tasks, this.state.predictions,
        { budgetMs: cfg.budgetMs, signal: controller.signal });
      if (result.cancelled || token.isCancellationRequested) return undefined;
      this.log.debug(`hover: lines ${snippet.startLine + 1}-${snippet.endLine + 1} (${snippet.source}), `
        + `${result.predictions.length}/${tasks.length} predictions in ${Date.now() - t0} ms`);
      const id = this.state.remember({
        code: snippet.text, predictions: result.predictions, uri: document.uri.toString(),
        startLine: snippet.startLine, endLine: snippet.endLine,
      });
      const text = buildCard({
        ...snippet, modelName: engine.manifest.name, predictions: result.predictions, failures: result.failures,
        outside: outsideSubset(snippet.text), commandArg: { id },
        run: this.state.runs.get(this.state.runKey(cfg.pythonPath, snippet.text)),
      });
      const range = new vscode.Range(snippet.startLine, 0, snippet.endLine, lines[snippet.endLine]?.length ?? 0);
      return new vscode.Hover(markdown(text), range);
    } catch (err) {
      this.log.warn(`hover failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    } finally {
      listener.dispose();
    }
  }
}

function entryFor(state: HoverState, arg: unknown) {
  const id = typeof arg === 'object' && arg !== null ? (arg as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? state.snippets.get(id) : undefined;
}

/** "Run and compare": the only place TinyFIM executes code, and only on that click. */
export async function runAndCompare(context: vscode.ExtensionContext, state: HoverState, log: Logger, arg: unknown): Promise<void> {
  const entry = entryFor(state, arg);
  if (!entry) {
    void vscode.window.showWarningMessage('TinyFIM: hover over the code again, then click "Run and compare".');
    return;
  }
  const uri = vscode.Uri.parse(entry.uri);
  const cfg = settings(uri);
  const tracerPath = context.asAbsolutePath('dist/linetrace.py');
  if (!existsSync(tracerPath)) {
    void vscode.window.showErrorMessage(`TinyFIM: the line tracer is missing (${tracerPath}); rebuild the extension.`);
    return;
  }
  const run = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `TinyFIM: running the snippet with ${cfg.pythonPath}…`, cancellable: true },
    (_progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return runSnippet(entry.code, { pythonPath: cfg.pythonPath, tracerPath, timeoutSeconds: cfg.timeoutSeconds, signal: controller.signal, cwd: os.tmpdir() });
    },
  );
  state.runs.set(state.runKey(cfg.pythonPath, entry.code), run);
  const summary = runSummary(entry.predictions, run);
  log.info(`run and compare (lines ${entry.startLine + 1}-${entry.endLine + 1}, ${run.ms} ms): ${summary}`);

  // The comparison goes into the hover (cached: hovering again shows it), re-shown at once when the cursor
  // is in the snippet; a notification says it in one line, with a button that brings the hover up there when
  // it is not already up.
  const editor = vscode.window.activeTextEditor;
  const here = editor && editor.document.uri.toString() === entry.uri
    && editor.selection.active.line >= entry.startLine && editor.selection.active.line <= entry.endLine;
  if (here) await showHoverAt(editor, editor.selection.active);
  const buttons = here ? [] : ['Show in hover'];
  const failed = !run.ok || run.timedOut;
  const choice = failed
    ? await vscode.window.showWarningMessage(`TinyFIM: ${summary}`, ...buttons)
    : await vscode.window.showInformationMessage(`TinyFIM: ${summary}`, ...buttons);
  if (choice !== 'Show in hover') return;
  const shown = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preserveFocus: false });
  await showHoverAt(shown, new vscode.Position(entry.startLine, 0));
}

async function showHoverAt(editor: vscode.TextEditor, at: vscode.Position): Promise<void> {
  // A shown hover keeps its content: close it first (the command is missing in older editors).
  await vscode.commands.executeCommand('editor.action.hideHover').then(undefined, () => undefined);
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  if (!editor.selection.active.isEqual(at)) editor.selection = new vscode.Selection(at, at);
  editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  await vscode.commands.executeCommand('editor.action.showHover');
}

export async function copyPrediction(state: HoverState, arg: unknown): Promise<void> {
  const entry = entryFor(state, arg);
  if (!entry || entry.predictions.length === 0) {
    void vscode.window.showWarningMessage('TinyFIM: hover over the code again, then click "Copy prediction".');
    return;
  }
  await vscode.env.clipboard.writeText(predictionText(entry.predictions));
  vscode.window.setStatusBarMessage('$(copy) TinyFIM: prediction copied', 2000);
}
