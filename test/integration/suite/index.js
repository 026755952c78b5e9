// Runs inside VS Code's extension host (loaded by @vscode/test-electron): mocha over suite/*.test.js.
const path = require('node:path');
const fs = require('node:fs');
const Mocha = require('mocha');

exports.run = function run() {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60000, color: true });
  for (const f of fs.readdirSync(__dirname).filter((n) => n.endsWith('.test.js'))) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
};
