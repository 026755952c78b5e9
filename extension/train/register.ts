// "TinyFIM: Train a Model on This Workspace" (from scratch, for contributors with a TinyFIM checkout) and the
// registration of "Adapt the Model to This Workspace" (adaptCommand.ts): both run in an integrated terminal and
// offer to switch to the new model when it is done.
import * as vscode from 'vscode';
import { updateSetting } from '../engineHost';
import type { Logger } from '../log';
import { ADAPT_COMMAND, adaptToWorkspace } from './adaptCommand';
import { isTrainerRoot, listPresets, modelReady, planTraining, shellLine, trainerPython, type TrainPlan } from './plan';
import { pickFolder, refuseInRestrictedMode, TrainerTerminal } from './terminal';

export const TRAIN_COMMAND = 'tinyfim.trainOnWorkspace';
const LAST_PRESET = 'tinyfim.train.lastPreset';

export function registerTraining(context: vscode.ExtensionContext, log: Logger): void {
  const running = new Set<TrainerTerminal>();
  context.subscriptions.push(
    vscode.commands.registerCommand(TRAIN_COMMAND, () => trainOnWorkspace(context, log, running)),
    vscode.commands.registerCommand(ADAPT_COMMAND, () => adaptToWorkspace(context, log, running)),
    { dispose: () => { for (const t of running) t.stop(); } },
  );
}

/** The setting, else a workspace folder that is a TinyFIM checkout, else ask once and remember. */
async function findTrainer(): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('tinyfim.train');
  const setting = config.get<string>('trainerPath', '').trim();
  if (setting) {
    if (isTrainerRoot(setting)) return setting;
    void vscode.window.showErrorMessage(`TinyFIM: ${setting} (setting tinyfim.train.trainerPath) has no trainer/ package with presets.`);
    return undefined;
  }
  const inWorkspace = (vscode.workspace.workspaceFolders ?? []).find((f) => isTrainerRoot(f.uri.fsPath));
  if (inWorkspace) return inWorkspace.uri.fsPath;
  const locate = 'Locate TinyFIM Checkout…';
  const pick = await vscode.window.showInformationMessage(
    'TinyFIM: training needs the TinyFIM trainer (a checkout of the TinyFIM repository, set up with scripts/setup.sh).',
    locate);
  if (pick !== locate) return undefined;
  const chosen = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, openLabel: 'Use This Checkout',
    title: 'TinyFIM: locate the TinyFIM checkout (the folder that holds trainer/ and scripts/)',
  });
  const dir = chosen?.[0]?.fsPath;
  if (!dir) return undefined;
  if (!isTrainerRoot(dir)) {
    void vscode.window.showErrorMessage(`TinyFIM: ${dir} has no trainer/ package; choose the folder that holds trainer/ and scripts/.`);
    return undefined;
  }
  await config.update('trainerPath', dir, vscode.ConfigurationTarget.Global);
  return dir;
}

async function trainOnWorkspace(context: vscode.ExtensionContext, log: Logger, running: Set<TrainerTerminal>): Promise<void> {
  if (await refuseInRestrictedMode('training runs the trainer on this folder')) return;
  const folder = await pickFolder();
  if (!folder) {
    void vscode.window.showWarningMessage('TinyFIM: open a folder with Python code first; the model learns from its files.');
    return;
  }
  const trainerRoot = await findTrainer();
  if (!trainerRoot) return;
  const presets = listPresets(trainerRoot);
  if (presets.length === 0) {
    void vscode.window.showErrorMessage(`TinyFIM: no presets in ${trainerRoot}/trainer/presets.`);
    return;
  }
  const last = context.globalState.get<string>(LAST_PRESET, 'small');
  const items = presets.map((p) => ({ label: p.name, detail: p.about, picked: p.name === last }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  const preset = await vscode.window.showQuickPick(items, {
    title: `TinyFIM: train on ${folder.name}`, placeHolder: 'Model size (preset); larger ones train longer and complete better',
  });
  if (!preset) return;
  await context.globalState.update(LAST_PRESET, preset.label);

  const config = vscode.workspace.getConfiguration('tinyfim.train');
  const python = trainerPython(trainerRoot, config.get<string>('pythonPath', ''));
  const extraArgs = config.get<unknown[]>('extraArgs', []).filter((a): a is string => typeof a === 'string');
  const plan = planTraining({
    trainerRoot, python, corpusDir: folder.uri.fsPath, preset: preset.label, storageDir: context.globalStorageUri.fsPath,
    now: new Date(), extraArgs,
  });
  log.info(`training: ${shellLine(plan.python, plan.args)} (in ${plan.cwd})`);
  const terminal = new TrainerTerminal(plan, (code) => {
    running.delete(terminal);
    void finished(plan, code, log);
  });
  running.add(terminal);
  const term = vscode.window.createTerminal({ name: `TinyFIM: train (${preset.label})`, pty: terminal });
  term.show();
}

async function finished(plan: TrainPlan, code: number | null, log: Logger): Promise<void> {
  if (code === 0 && modelReady(plan.outDir)) {
    log.info(`training finished: ${plan.outDir}`);
    const use = 'Use This Model';
    const pick = await vscode.window.showInformationMessage(`TinyFIM: training finished. The new model is in ${plan.outDir}.`, use);
    if (pick === use) {
      await updateSetting('model.path', plan.outDir);
      vscode.window.setStatusBarMessage('$(check) TinyFIM: now using the new model', 4000);
    }
    return;
  }
  const why = code === null ? 'was stopped' : code === 0 ? 'ended without an exported model' : `failed (exit code ${code})`;
  log.warn(`training ${why}`);
  void vscode.window.showErrorMessage(`TinyFIM: training ${why}. The terminal shows why; run the command again to resume where it stopped.`);
}
