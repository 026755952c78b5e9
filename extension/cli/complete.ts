// `tinyfim complete`: one completion at a 1-based line/column of a file.
import type { Verb } from './main';
import { CliError } from './main';
import { intOpt, loadEngine, modeOpt, parse, printJson, readText, required } from './args';
import { applyPostprocess, editorContext, editorIsFinal, type LinesOption } from './postprocessHook';

/** Character offset of 1-based (line, column); column counts UTF-16 code units like VS Code, CRLF lines included. */
export function offsetOf(text: string, line: number, column: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl === -1) throw new CliError(`--line ${line} is past the end of the file (${l} lines)`);
    off = nl + 1;
  }
  const end = text.indexOf('\n', off);
  const lineLen = (end === -1 ? text.length : end) - off - (end > 0 && text[end - 1] === '\r' ? 1 : 0);
  if (column > lineLen + 1) throw new CliError(`--column ${column} is past the end of line ${line} (${lineLen} characters; the last valid column is ${lineLen + 1})`);
  return off + column - 1;
}

/** The lines around the cursor with the completion put in, marked ⟦…⟧, numbered like the editor. */
export function inContext(text: string, offset: number, completion: string, before = 3, after = 2): string {
  const merged = `${text.slice(0, offset)}⟦${completion}⟧${text.slice(offset)}`.split('\n');
  const first = text.slice(0, offset).split('\n').length - 1;
  const last = first + completion.split('\n').length - 1;
  const from = Math.max(0, first - before);
  const to = Math.min(merged.length - 1, last + after);
  const width = String(to + 1).length;
  return merged.slice(from, to + 1).map((line, i) => `${String(from + i + 1).padStart(width)} | ${line}`).join('\n');
}

export const completeVerb: Verb = {
  description: 'Complete the code at a position of a file (line and column are 1-based).',
  usage: '--model DIR --file F --line L --column C [--json | --show] [--mode psm|spm] [--lines auto|single|multi] [--max-new-tokens N] [--budget-ms N] [--threads N] [--raw]',
  async run(argv) {
    const a = parse(argv, {
      model: { type: 'string' }, file: { type: 'string' }, line: { type: 'string' }, column: { type: 'string' },
      json: { type: 'boolean' }, mode: { type: 'string' }, lines: { type: 'string' }, 'max-new-tokens': { type: 'string' },
      'budget-ms': { type: 'string' }, threads: { type: 'string' }, raw: { type: 'boolean' }, show: { type: 'boolean' },
    });
    const file = required(a.file, '--file');
    const text = readText(file);
    const off = offsetOf(text, intOpt(a.line, '--line', NaN), intOpt(a.column, '--column', NaN));
    const prefix = text.slice(0, off);
    const suffix = text.slice(off);
    const lines = (a.lines as string | undefined) ?? 'auto';
    if (!['auto', 'single', 'multi'].includes(lines)) throw new CliError(`--lines must be auto, single or multi, got '${lines}'`);
    const ctx = editorContext(prefix, suffix, lines as LinesOption);
    const singleLine = ctx.mode === 'single';
    const engine = await loadEngine(required(a.model, '--model'), intOpt(a.threads, '--threads', 1));
    try {
      const r = await engine.complete({
        prefix: ctx.prefix, suffix: ctx.suffix, singleLine, mode: modeOpt(a.mode),
        maxNewTokens: intOpt(a['max-new-tokens'], '--max-new-tokens', 48),
        deadlineMs: intOpt(a['budget-ms'], '--budget-ms', 10_000),
        isFinal: a.raw ? undefined : editorIsFinal(ctx), // --raw: the model's text to the token limit
      });
      const completion = a.raw ? r.text : applyPostprocess(ctx, r.text);
      if (a.json) {
        printJson({ completion, ms: Math.round(r.ms * 10) / 10, tokens: r.tokens, stop_reason: r.stopReason, raw: r.text,
          prompt_tokens: r.promptTokens, mode: r.mode, single_line: singleLine });
      } else if (a.show) {
        process.stdout.write(`${inContext(text, off, completion)}\n`);
        process.stderr.write(`[${r.ms.toFixed(1)} ms; ⟦…⟧ is the model's suggestion, as the editor would show it in grey]\n`);
      } else {
        process.stdout.write(completion + '\n');
        process.stderr.write(`[${r.tokens} tokens, ${r.ms.toFixed(1)} ms, stop: ${r.stopReason}, ${r.mode}, prompt ${r.promptTokens} tokens]\n`);
      }
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
