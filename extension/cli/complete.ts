// `tinyfim complete`: one completion at a 1-based line/column of a file, through the editor's own path
// (editor.ts). By default as a manual trigger (Alt+\): the best of the candidates, whatever its confidence.
import {
  CliError, COMPLETION_OPTIONS, COMPLETION_USAGE, engineFrom, intOpt, parse, pathOptionsFrom, printJson, probabilityOpt, readText,
  required, triggerFrom, type Verb,
} from './args';
import { DEFAULT_SETTINGS } from '../completion/settings';
import { EditorPath } from './editor';

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
  description: 'Complete the code at a position of a file (line and column are 1-based), as the editor does: by default a manual '
    + 'trigger (Alt+\\: the best of several candidates); --trigger automatic applies the editor\'s rules for typing '
    + '(no completion inside a word, the confidence gate).',
  usage: `--file F --line L --column C ${COMPLETION_USAGE} [--trigger invoke|automatic] `
    + `[--min-confidence P (${DEFAULT_SETTINGS.minConfidence})] [--show] [--raw]`,
  async run(argv) {
    const a = parse(argv, {
      ...COMPLETION_OPTIONS, file: { type: 'string' }, line: { type: 'string' }, column: { type: 'string' },
      'min-confidence': { type: 'string' }, raw: { type: 'boolean' }, show: { type: 'boolean' },
    });
    const file = required(a.file, '--file');
    const text = readText(file);
    const off = offsetOf(text, intOpt(a.line, '--line', NaN), intOpt(a.column, '--column', NaN));
    const path = pathOptionsFrom(a);
    path.settings = { ...path.settings, minConfidence: probabilityOpt(a['min-confidence'], '--min-confidence', DEFAULT_SETTINGS.minConfidence) };
    if (a.raw) path.earlyStop = false; // --raw: the model's text to the token limit
    const trigger = triggerFrom(a, 'invoke');
    const engine = await engineFrom(a);
    try {
      const { outcome, text: shown, all } = await new EditorPath(engine, path).complete(text, off, trigger);
      const r = outcome.answer;
      const completion = a.raw ? r?.text ?? '' : shown;
      const about = r ? `${r.tokens} tokens, ${r.ms.toFixed(1)} ms, stop: ${r.stopReason}, ${r.mode}, prompt ${r.promptTokens} tokens`
        : `no model call`;
      if (a.json) {
        printJson({ completion, ms: Math.round(outcome.ms * 10) / 10, skipped: outcome.skipped ?? null, candidates: a.raw ? undefined : all,
          tokens: r?.tokens ?? 0, stop_reason: r?.stopReason ?? null, raw: r?.text ?? '', prompt_tokens: r?.promptTokens ?? 0,
          mode: r?.mode ?? null, single_line: outcome.completion ? outcome.completion.mode === 'single' : null, trigger,
          confidence: outcome.completion?.confidence ?? null });
      } else if (a.show) {
        process.stdout.write(`${inContext(text, off, completion)}\n`);
        process.stderr.write(`[${outcome.ms.toFixed(1)} ms; ⟦…⟧ is the model's suggestion, as the editor would show it in grey]\n`);
      } else {
        process.stdout.write(completion + '\n');
        process.stderr.write(`[${about}${outcome.skipped ? `; nothing shown: ${outcome.skipped}` : ''}]\n`);
      }
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};
