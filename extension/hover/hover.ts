// The vscode adapter of the trace-prediction hover: reads settings and the document, asks the pure parts
// (gate, snippet, predict, calibration, card, run) and turns their answers into a Hover and two commands.
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Engine } from '../engine';
import type { Logger } from '../log';
import { CALIBRATION_FILE, DEFAULT_MIN_CONFIDENCE, judge, parseCalibration, type Calibration } from './calibration';
import {
  buildCard, COPY_COMMAND, firstLineNote, outsideNote, predictionText, RUN_COMMAND, runSummary, tooLongNote, TRUST_COMMAND,
} from './card';
import { hoverTarget, programForModel } from './gate';
import { HoverState, modelIdOf, predictTasks, type SnippetEntry } from './predict';
import { runSnippet } from './run';

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
    minConfidence: c.get<number>('minConfidence', DEFAULT_MIN_CONFIDENCE),
  };
}

function markdown(text: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString(text, true);
  md.isTrusted = { enabledCommands: [RUN_COMMAND, COPY_COMMAND, TRUST_COMMAND] };
  md.supportHtml = false;
  return md;
}

export class TraceHoverProvider implements vscode.HoverProvider {
  /** Calibration per model id (undefined: the model folder has none that fits). */
  private readonly calibrations = new Map<string, Calibration | undefined>();

  constructor(private readonly host: EngineSource, private readonly state: HoverState, private readonly log: Logger) {}

  /** The model folder's calibration.json, read once per model; a missing or stale one means raw probabilities. */
  private calibrationFor(engine: Engine, modelId: string): Calibration | undefined {
    if (this.calibrations.has(modelId)) return this.calibrations.get(modelId);
    const file = path.join(engine.dir, CALIBRATION_FILE);
    let found: Calibration | undefined;
    if (existsSync(file)) {
      try {
        const { calibration, problem } = parseCalibration(JSON.parse(readFileSync(file, 'utf8')), engine.manifest.files['model.onnx']?.sha256);
        if (problem) this.log.warn(`hover: ignoring ${file}: ${problem}; confidences are the model's own probabilities`);
        found = calibration;
      } catch (err) {
        this.log.warn(`hover: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
    } else {
      this.log.info(`hover: ${file} does not exist; confidences are the model's own probabilities (run \`tinyfim calibrate\`)`);
    }
    this.calibrations.set(modelId, found);
    return found;
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const cfg = settings(document.uri);
    if (!cfg.enable) return undefined;
    const editor = vscode.window.activeTextEditor;
    const selection = editor && editor.document === document && !editor.selection.isEmpty ? editor.selection : undefined;
    const lines = document.getText().split(/\r?\n/);
    const target = hoverTarget(lines, position, { maxLines: cfg.maxLines, selection });
    if (!target) return undefined;
    // One line, no prediction: on ordinary code the model has nothing to say worth a card.
    if (target.kind === 'first-line') return new vscode.Hover(markdown(firstLineNote(target.line)));
    if (target.kind === 'too-long') return new vscode.Hover(markdown(tooLongNote(target.lines, target.maxLines)));
    if (target.kind === 'outside') return new vscode.Hover(markdown(outsideNote(target.constructs)));
    const snippet = target.snippet;
    const engine = await this.host.getEngine();
    if (!engine || token.isCancellationRequested) return undefined;
    const available = engine.tasks();
    const tasks = cfg.tasks.filter((t, i) => available.includes(t) && cfg.tasks.indexOf(t) === i);
    if (tasks.length === 0) return undefined;

    const controller = new AbortController();
    const listener = token.onCancellationRequested(() => controller.abort());
    try {
      const t0 = Date.now();
      const modelId = modelIdOf(engine);
      const result = await predictTasks(engine, modelId, programForModel(snippet.text), tasks, this.state.predictions,
        { budgetMs: cfg.budgetMs, signal: controller.signal });
      if (result.cancelled || token.isCancellationRequested) {
        // The editor withdrew the request (the mouse left, a key, a scroll): said, so that a missing card is explained.
        this.log.debug(`hover: cancelled by the editor after ${Date.now() - t0} ms`);
        return undefined;
      }
      const calibration = this.calibrationFor(engine, modelId);
      const predictions = result.predictions.map((p) => judge(p, calibration, cfg.minConfidence));
      this.log.debug(`hover: lines ${snippet.startLine + 1}-${snippet.endLine + 1} (${snippet.source}), `
        + `${result.predictions.length}/${tasks.length} predictions in ${Date.now() - t0} ms: `
        + predictions.map((p) => `${p.task} p=${p.probability.toFixed(3)} -> ${p.confidence.toFixed(3)}${p.sure ? '' : ' (not sure)'}`).join(', '));
      const id = this.state.remember({
        code: snippet.text, predictions, uri: document.uri.toString(),
        startLine: snippet.startLine, endLine: snippet.endLine,
      });
      const text = buildCard({
        ...snippet, predictions, failures: result.failures, commandArg: { id }, runnable: vscode.workspace.isTrusted,
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
  if (!vscode.workspace.isTrusted) {
    // Restricted Mode: the folder's code is not trusted, so TinyFIM runs none of it.
    const manage = 'Manage Workspace Trust';
    const pick = await vscode.window.showWarningMessage(
      'TinyFIM: "Run and compare" runs code from this folder, so it is off in Restricted Mode. Trust the folder to use it.', manage);
    if (pick === manage) await vscode.commands.executeCommand(TRUST_COMMAND);
    return;
  }
  const uri = vscode.Uri.parse(entry.uri);
  const cfg = settings(uri);
  const tracerPath = context.asAbsolutePath('dist/linetrace.py');
  if (!existsSync(tracerPath)) {
    void vscode.window.showErrorMessage(`TinyFIM: the line tracer is missing (${tracerPath}); rebuild the extension.`);
    return;
  }
  // Progress in the status bar, not a toast: the run is bounded by its timeout, and the result goes into the hover.
  const run = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: `TinyFIM: running the snippet with ${cfg.pythonPath}` },
    () => runSnippet(entry.code, { pythonPath: cfg.pythonPath, tracerPath, timeoutSeconds: cfg.timeoutSeconds, cwd: os.tmpdir() }),
  );
  state.runs.set(state.runKey(cfg.pythonPath, entry.code), run);
  const summary = runSummary(entry.predictions, run);
  log.info(`run and compare (lines ${entry.startLine + 1}-${entry.endLine + 1}, ${run.ms} ms): ${summary}`);

  // The comparison goes into the hover (cached: hovering again shows it). When the cursor is in the snippet the
  // hover comes back at once with it and nothing else is shown; otherwise one notification says it in one line,
  // with a button that brings the hover up there.
  const editor = vscode.window.activeTextEditor;
  const here = editor && editor.document.uri.toString() === entry.uri
    && editor.selection.active.line >= entry.startLine && editor.selection.active.line <= entry.endLine;
  if (here) {
    await showHoverAt(editor, entry);
    return;
  }
  const failed = !run.ok || run.timedOut;
  const choice = failed
    ? await vscode.window.showWarningMessage(`TinyFIM: ${summary}`, 'Show in hover')
    : await vscode.window.showInformationMessage(`TinyFIM: ${summary}`, 'Show in hover');
  if (choice !== 'Show in hover') return;
  const shown = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preserveFocus: false });
  await showHoverAt(shown, entry);
}

/** Shows the hover on the snippet's first line (where the card answers), keeping a selection of it selected. */
async function showHoverAt(editor: vscode.TextEditor, entry: SnippetEntry): Promise<void> {
  // A shown hover keeps its content: close it first (the command is missing in older editors).
  await vscode.commands.executeCommand('editor.action.hideHover').then(undefined, () => undefined);
  await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
  const sel = editor.selection;
  if (!sel.isEmpty && sel.start.line === entry.startLine) {
    // The same selection with the cursor at its start.
    editor.selection = new vscode.Selection(sel.end, sel.start);
  } else {
    const line = editor.document.lineAt(entry.startLine);
    const at = new vscode.Position(entry.startLine, line.firstNonWhitespaceCharacterIndex);
    editor.selection = new vscode.Selection(at, at);
  }
  editor.revealRange(new vscode.Range(editor.selection.active, editor.selection.active), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  await vscode.commands.executeCommand('editor.action.showHover');
}

export async function copyPrediction(state: HoverState, arg: unknown): Promise<void> {
  const entry = entryFor(state, arg);
  if (!entry || !entry.predictions.some((p) => p.sure !== false)) {
    void vscode.window.showWarningMessage('TinyFIM: hover over the code again, then click "Copy prediction".');
    return;
  }
  await vscode.env.clipboard.writeText(predictionText(entry.predictions));
  vscode.window.setStatusBarMessage('$(copy) TinyFIM: prediction copied', 2000);
}
