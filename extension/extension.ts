// Entry point: activate() registers every provider, command and status-bar item as a disposable.
import * as vscode from 'vscode';
import { registerCompletions } from './completion/register';
import { EngineHost } from './engineHost';
import { registerHovers } from './hover/register';
import { Logger, type LogLevel } from './log';
import { registerTraining } from './train/register';

export function activate(context: vscode.ExtensionContext): void {
  const channel = vscode.window.createOutputChannel('TinyFIM');
  const config = () => vscode.workspace.getConfiguration('tinyfim');
  const log = new Logger(channel, config().get<LogLevel>('log.level', 'info'));
  context.subscriptions.push(
    channel,
    vscode.commands.registerCommand('tinyfim.openLog', () => channel.show(true)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tinyfim.log.level')) log.level = config().get<LogLevel>('log.level', 'info');
    }),
  );
  const host = new EngineHost(context, log);
  context.subscriptions.push(host);
  registerCompletions(context, host, log);
  registerHovers(context, host, log);
  registerTraining(context, log);
  log.info(`TinyFIM ${String(context.extension.packageJSON.version)} activated`);
}

export function deactivate(): void {}
