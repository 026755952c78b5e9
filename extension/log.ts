// What the extension logs through: VS Code's LogOutputChannel ("TinyFIM" in the Output panel), whose level is VS
// Code's own (Developer: Set Log Level…). The code below the vscode adapters takes this interface only, so that tests
// can pass anything with these methods.
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}
