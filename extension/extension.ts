// Entry point: activate() registers every provider, command and status-bar item as a disposable.
import * as vscode from 'vscode';
import { registerCompletions } from './completion/register';
import { EngineHost } from './engineHost';
import { registerHovers } from './hover/register';
import { registerTraining } from './train/register';

export function activate(context: vscode.ExtensionContext): void {
  // A log channel: timestamps, levels and VS Code's "Set Log Level" come with it.
  const log = vscode.window.createOutputChannel('TinyFIM', { log: true });
  context.subscriptions.push(log, vscode.commands.registerCommand('tinyfim.openLog', () => log.show(true)));
  const host = new EngineHost(context, log);
  context.subscriptions.push(host);
  registerCompletions(context, host, log);
  registerHovers(context, host, log);
  registerTraining(context, log);
  log.info(`TinyFIM ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {}
