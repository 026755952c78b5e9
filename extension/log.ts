// Leveled logging that the editor routes to an output channel and the CLI to stderr.
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LogSink {
  appendLine(line: string): void;
}

export class Logger {
  constructor(private sink: LogSink, public level: LogLevel = 'info') {}

  private write(level: LogLevel, message: string): void {
    if (ORDER[level] > ORDER[this.level]) return;
    this.sink.appendLine(`${new Date().toISOString()} [${level}] ${message}`);
  }
  error(message: string): void { this.write('error', message); }
  warn(message: string): void { this.write('warn', message); }
  info(message: string): void { this.write('info', message); }
  debug(message: string): void { this.write('debug', message); }
}
