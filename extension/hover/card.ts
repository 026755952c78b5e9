// The hover card's markdown: predictions, confidence and latency, the out-of-distribution note, command
// links and, after "Run and compare", the actual results with ✓/✗. Pure and golden-testable: every piece
// of user or model text is fenced or escaped, so nothing in it can become a link, an icon or HTML.
import { actualAnswer, answersMatch, type RunResult } from './run';

export interface Prediction { task: string; answer: string; probability: number; ms: number; stopReason: string }

export interface CardInput {
  startLine: number;
  endLine: number;
  source: 'selection' | 'definition' | 'group';
  truncated: boolean;
  modelName?: string;
  predictions: Prediction[];
  /** Tasks that produced no prediction, and why (budget spent, engine error). */
  failures: Array<{ task: string; message: string }>;
  /** Constructs outside the tinypy subset (subset.ts). */
  outside: string[];
  /** Argument of the command links (JSON-encoded into the command URI); no links when undefined. */
  commandArg?: unknown;
  run?: RunResult;
}

export const RUN_COMMAND = 'tinyfim.runAndCompare';
export const COPY_COMMAND = 'tinyfim.copyPrediction';
const MAX_LINES = 20;
const MAX_CHARS = 2000;

const LABELS: Record<string, string> = { output: 'Output', line_count: 'Executed lines', states: 'Final variables' };
export const taskLabel = (task: string): string => LABELS[task] ?? task;

/** Escapes markdown (and `$(icon)` syntax) in a piece of plain text. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~$&]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

/** A fenced code block that no content can close early. */
export function codeBlock(text: string, language = 'text'): string {
  let body = text.replace(/\r\n/g, '\n');
  if (body.endsWith('\n')) body = body.slice(0, -1);
  const lines = body.split('\n');
  let note = '';
  if (lines.length > MAX_LINES || body.length > MAX_CHARS) {
    const kept: string[] = [];
    let size = 0;
    for (const line of lines) {
      if (kept.length >= MAX_LINES || size + line.length > MAX_CHARS) break;
      kept.push(line);
      size += line.length + 1;
    }
    note = `\n*… ${lines.length - kept.length} more line(s)*\n`;
    body = kept.join('\n');
  }
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${language}\n${body}\n${fence}\n${note}`;
}

/** An inline code span for a short answer; newlines shown as ⏎. */
export function codeSpan(text: string): string {
  if (text === '') return '*(empty)*';
  const body = text.replace(/\r?\n/g, '⏎');
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = body.startsWith('`') || body.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${body}${pad}${fence}`;
}

export const percent = (p: number): string => `${Math.round(Math.min(1, Math.max(0, p)) * 100)}%`;

function commandLink(title: string, command: string, arg: unknown, tooltip: string): string {
  return `[${title}](command:${command}?${encodeURIComponent(JSON.stringify([arg]))} "${tooltip}")`;
}

function stats(p: Prediction): string {
  const cut = p.stopReason === 'deadline' ? ' · cut at the time budget' : p.stopReason === 'max_tokens' ? ' · cut at the token limit' : '';
  return `confidence ${percent(p.probability)} · ${Math.round(p.ms)} ms${cut}`;
}

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

function predictionSection(p: Prediction, run: RunResult | undefined): string {
  const actual = run ? actualAnswer(p.task, run) : undefined;
  const verdict = actual === undefined ? '' : ` ${mark(answersMatch(p.task, p.answer, actual))}`;
  if (p.task === 'output') {
    let s = `**Predicted output** · ${stats(p)}\n\n`;
    s += p.answer === '' ? '*(prints nothing)*\n' : codeBlock(p.answer);
    if (actual !== undefined) {
      s += `\n**Actual output**${verdict}\n\n`;
      s += actual === '' ? '*(printed nothing)*\n' : codeBlock(actual);
    }
    return s;
  }
  let s = `**${taskLabel(p.task)}:** ${codeSpan(p.answer.trim())} · ${stats(p)}`;
  if (actual !== undefined) s += ` — actual ${codeSpan(actual)}${verdict}`;
  return `${s}\n`;
}

function runSection(run: RunResult): string {
  if (run.timedOut) {
    const killed = run.killed ? ': process killed' : '';
    return `$(clock) **Run timed out**${killed} (ran ${(run.ms / 1000).toFixed(1)} s with ${codeSpan(run.python)}); `
      + 'results up to then are not compared.\n';
  }
  if (!run.ok) return `$(error) **Run failed**\n\n${codeBlock(run.error ?? 'unknown error')}`;
  let s = `$(terminal) Ran with ${codeSpan(run.python)} in ${Math.round(run.ms)} ms\n`;
  if (run.error) s += `\n$(error) **The snippet raised** (output and count are up to the error)\n\n${codeBlock(run.error)}`;
  return s;
}

/** The hover's markdown (render with supportThemeIcons and trusted for our two commands only). */
export function buildCard(input: CardInput): string {
  const parts: string[] = [];
  const lines = input.startLine === input.endLine ? `line ${input.startLine + 1}` : `lines ${input.startLine + 1}–${input.endLine + 1}`;
  const what = input.source === 'selection' ? 'selection' : input.source === 'definition' ? 'definition' : 'statements';
  const model = input.modelName ? ` · model ${codeSpan(input.modelName)}` : '';
  parts.push(`$(beaker) **TinyFIM trace prediction** · ${what}, ${lines}${model}\n`);
  if (input.truncated) parts.push(`*The statement group was cut to ${input.endLine - input.startLine + 1} lines (setting tinyfim.hover.maxLines).*\n`);
  // A timed-out run's partial results would only mislead the ✓/✗.
  const run = input.run && !input.run.timedOut ? input.run : undefined;
  for (const p of input.predictions) parts.push(predictionSection(p, run));
  for (const f of input.failures) parts.push(`**${escapeMarkdown(taskLabel(f.task))}:** *no prediction (${escapeMarkdown(f.message)})*\n`);
  if (input.outside.length > 0) {
    parts.push(`$(warning) *Outside the model's training programs (tinypy): ${input.outside.map(escapeMarkdown).join(', ')}. `
      + 'Expect unreliable predictions.*\n');
  }
  if (input.run) parts.push(runSection(input.run));
  if (input.commandArg !== undefined) {
    const links = [commandLink(input.run ? '$(play) Run again' : '$(play) Run and compare', RUN_COMMAND, input.commandArg,
      'Runs this snippet with your Python interpreter and compares')];
    if (input.predictions.length > 0) links.push(commandLink('$(copy) Copy prediction', COPY_COMMAND, input.commandArg, 'Copies the prediction'));
    parts.push(links.join(' · '));
  }
  return parts.join('\n');
}

/** What "Copy prediction" puts on the clipboard: the predicted output, else `task: answer` lines. */
export function predictionText(predictions: Prediction[]): string {
  const output = predictions.find((p) => p.task === 'output');
  if (output) return output.answer;
  return predictions.map((p) => `${taskLabel(p.task)}: ${p.answer.trim()}`).join('\n');
}

/** One line for a notification after a run: "Output ✓ · Executed lines ✗ (predicted 7, actual 6)". */
export function runSummary(predictions: Prediction[], run: RunResult): string {
  if (run.timedOut) return `Timed out after ${(run.ms / 1000).toFixed(1)} s${run.killed ? ' (process killed)' : ''}.`;
  if (!run.ok) return `Run failed: ${run.error ?? 'unknown error'}`;
  const parts = predictions.flatMap((p) => {
    const actual = actualAnswer(p.task, run);
    if (actual === undefined) return [];
    const ok = answersMatch(p.task, p.answer, actual);
    const detail = ok || p.task === 'output' ? '' : ` (predicted ${p.answer.trim()}, actual ${actual})`;
    return [`${taskLabel(p.task)} ${mark(ok)}${detail}`];
  });
  const raised = run.error ? ` · the snippet raised ${run.error}` : '';
  return (parts.join(' · ') || 'Ran') + raised;
}
