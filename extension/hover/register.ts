// Registers the trace-prediction hover for Python and its two commands (links in the hover card).
import * as vscode from 'vscode';
import type { Logger } from '../log';
import { COPY_COMMAND, RUN_COMMAND } from './card';
import { copyPrediction, runAndCompare, TraceHoverProvider, type EngineSource } from './hover';
import { HoverState } from './predict';

const SELECTOR: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'python', scheme: 'untitled' },
  { language: 'python', scheme: 'vscode-notebook-cell' },
];

export function registerHovers(context: vscode.ExtensionContext, host: EngineSource, log: Logger): void {
  const state = new HoverState();
  context.subscriptions.push(
    vscode.languages.registerHoverProvider(SELECTOR, new TraceHoverProvider(host, state, log)),
    vscode.commands.registerCommand(RUN_COMMAND, (arg: unknown) => shown(log, runAndCompare(context, state, log, arg))),
    vscode.commands.registerCommand(COPY_COMMAND, (arg: unknown) => shown(log, copyPrediction(state, arg))),
  );
}

/** Commands show their errors instead of throwing them at the editor. */
async function shown(log: Logger, work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.error(`hover command failed: ${message}`);
    void vscode.window.showErrorMessage(`TinyFIM: ${message}`);
  }
}
