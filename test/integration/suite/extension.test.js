// The extension inside a real VS Code: activation, commands, settings and the trace hover through VS Code's API.
const assert = require('node:assert/strict');
const path = require('node:path');
const vscode = require('vscode');

describe('TinyFIM in VS Code (integration)', () => {
  before(async () => {
    const ext = vscode.extensions.getExtension('tinyfim.tinyfim');
    assert.ok(ext, 'the extension is installed');
    await ext.activate();
  });

  it('registers its commands', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['tinyfim.toggle', 'tinyfim.triggerNow', 'tinyfim.chooseModel', 'tinyfim.runAndCompare', 'tinyfim.trainOnWorkspace']) {
      assert.ok(all.includes(id), `${id} is registered`);
    }
  });

  it('toggles completions in the settings', async () => {
    const enabled = () => vscode.workspace.getConfiguration('tinyfim').get('completions.enable');
    const before = enabled();
    await vscode.commands.executeCommand('tinyfim.toggle');
    assert.equal(enabled(), !before);
    await vscode.commands.executeCommand('tinyfim.toggle');
    assert.equal(enabled(), before);
  });

  it('hovers a Python snippet with the predicted output and executed-line count', async () => {
    const file = vscode.Uri.file(path.join(process.env.TINYFIM_IT_WORKSPACE, 'snippet.py'));
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    let text = '';
    for (let i = 0; i < 20 && !text.includes('Predicted output'); i++) {
      const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', file, new vscode.Position(3, 2));
      text = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
      if (!text.includes('Predicted output')) await new Promise((r) => setTimeout(r, 500));
    }
    assert.match(text, /Predicted output/);
    assert.match(text, /Executed lines/);
  });
});
