// The hover card's markdown: predictions with their (calibrated) confidence or "not sure", command links and,
// after "Run and compare", the actual results with ✓/✗; and the one-line notes for a selection the model cannot
// predict. Kept short, so other hover providers keep their room. Pure and golden-testable: every piece of user
// or model text is fenced or escaped, so nothing in it can become a link, an icon or HTML.
import type { JudgedPrediction } from './calibration';
import { actualAnswer, answersMatch, type RunResult } from './run';

export interface Prediction { task: string; answer: string; probability: number; ms: number; stopReason: string }
/** A prediction, judged (calibration.ts) or not: unjudged ones show the model's probability and their answer. */
export type ShownPrediction = Prediction & Partial<Pick<JudgedPrediction, 'confidence' | 'calibrated' | 'sure' | 'doubt'>>;

export interface CardInput {
  startLine: number;
  endLine: number;
  source: 'selection' | 'definition' | 'group';
  truncated: boolean;
  predictions: ShownPrediction[];
  /** Tasks that produced no prediction, and why (budget spent, engine error). */
  failures: Array<{ task: string; message: string }>;
  /** Argument of the command links (JSON-encoded into the command URI); no links when undefined. */
  commandArg?: unknown;
  /** false: Restricted Mode, the snippet may not be run (the card says so instead of offering the run). */
  runnable?: boolean;
  run?: RunResult;
}

export const RUN_COMMAND = 'tinyfim.runAndCompare';
export const COPY_COMMAND = 'tinyfim.copyPrediction';
/** VS Code's own command, linked from the card in Restricted Mode. */
export const TRUST_COMMAND = 'workbench.trust.manage';
const MAX_LINES = 12;
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

function confidenceText(p: ShownPrediction): string {
  return p.calibrated === false ? `model probability ${percent(p.confidence ?? p.probability)} (not calibrated)`
    : `confidence ${percent(p.confidence ?? p.probability)}`;
}

const CUT: Record<string, string> = { deadline: 'cut at the time budget', max_tokens: 'cut at the token limit' };

/** Why a prediction is not shown, in parentheses: its confidence, or what is wrong with the answer. */
function doubtText(p: ShownPrediction): string {
  const cut = CUT[p.stopReason];
  if (cut) return cut;
  if (p.doubt === 'not a number') return 'the answer is not a number';
  return confidenceText(p);
}

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

function predictionSection(p: ShownPrediction, run: RunResult | undefined): string {
  const actual = run ? actualAnswer(p.task, run) : undefined;
  const sure = p.sure !== false;
  const verdict = actual === undefined || !sure ? '' : ` ${mark(answersMatch(p.task, p.answer, actual))}`;
  if (p.task === 'output') {
    let s = sure ? `**Predicted output** · ${confidenceText(p)}\n\n` : `**Predicted output:** *not sure* (${doubtText(p)})\n`;
    if (sure) s += p.answer === '' ? '*(prints nothing)*\n' : codeBlock(p.answer);
    if (actual !== undefined) {
      s += `\n**Actual output**${verdict}\n\n`;
      s += actual === '' ? '*(printed nothing)*\n' : codeBlock(actual);
    }
    return s;
  }
  let s = sure ? `**${taskLabel(p.task)}:** ${codeSpan(p.answer.trim())} · ${confidenceText(p)}`
    : `**${taskLabel(p.task)}:** *not sure* (${doubtText(p)})`;
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
  parts.push(`$(beaker) **TinyFIM trace prediction** · ${what}, ${lines} · predicted, not run\n`);
  if (input.truncated) parts.push(`*The statement group was cut to ${input.endLine - input.startLine + 1} lines (setting tinyfim.hover.maxLines).*\n`);
  // A timed-out run's partial results would only mislead the ✓/✗.
  const run = input.run && !input.run.timedOut ? input.run : undefined;
  for (const p of input.predictions) parts.push(predictionSection(p, run));
  for (const f of input.failures) parts.push(`**${escapeMarkdown(taskLabel(f.task))}:** *no prediction (${escapeMarkdown(f.message)})*\n`);
  if (input.run) parts.push(runSection(input.run));
  if (input.commandArg !== undefined) {
    const links = input.runnable === false
      ? [`$(shield) *Run and compare needs a trusted folder (Restricted Mode):* [Manage Workspace Trust](command:${TRUST_COMMAND} "Trust this folder to run code from it")`]
      : [commandLink(input.run ? '$(play) Run again' : '$(play) Run and compare', RUN_COMMAND, input.commandArg,
        'Runs this snippet with your Python interpreter and compares')];
    if (input.predictions.some((p) => p.sure !== false)) links.push(commandLink('$(copy) Copy', COPY_COMMAND, input.commandArg, 'Copies the prediction'));
    parts.push(links.join(' · '));
  }
  return parts.join('\n');
}

/** The one line for a selection the model was never trained on: what it uses, and no prediction. */
export function outsideNote(constructs: string[]): string {
  return `$(beaker) TinyFIM: no trace prediction: the selection uses ${constructs.map(escapeMarkdown).join(', ')}; `
    + 'the model only learned small integer programs (tinypy).';
}

/** The one line inside a selection, off its first line: the card answers there, so it does not cover the code. */
export function firstLineNote(line: number): string {
  return `$(beaker) TinyFIM: hover line ${line + 1}, the selection's first line, for its trace prediction.`;
}

export function tooLongNote(lines: number, maxLines: number): string {
  return `$(beaker) TinyFIM: no trace prediction: the selection has ${lines} lines, more than ${maxLines} (setting tinyfim.hover.maxLines).`;
}

/** What "Copy" puts on the clipboard: the predicted output, else `task: answer` lines; never a "not sure" one. */
export function predictionText(predictions: ShownPrediction[]): string {
  const shown = predictions.filter((p) => p.sure !== false);
  const output = shown.find((p) => p.task === 'output');
  if (output) return output.answer;
  return shown.map((p) => `${taskLabel(p.task)}: ${p.answer.trim()}`).join('\n');
}

/** One line for a notification after a run: "Output ✓ · Executed lines ✗ (predicted 7, actual 6)". */
export function runSummary(predictions: ShownPrediction[], run: RunResult): string {
  if (run.timedOut) return `Timed out after ${(run.ms / 1000).toFixed(1)} s${run.killed ? ' (process killed)' : ''}.`;
  if (!run.ok) return `Run failed: ${run.error ?? 'unknown error'}`;
  const parts = predictions.flatMap((p) => {
    const actual = actualAnswer(p.task, run);
    if (actual === undefined) return [];
    if (p.sure === false) return [`${taskLabel(p.task)}: not sure, actual ${p.task === 'output' ? summaryOutput(actual) : actual}`];
    const ok = answersMatch(p.task, p.answer, actual);
    const predicted = p.answer.trim() === '' ? 'nothing' : p.answer.trim();
    const detail = ok || p.task === 'output' ? '' : ` (predicted ${predicted}, actual ${actual})`;
    return [`${taskLabel(p.task)} ${mark(ok)}${detail}`];
  });
  const raised = run.error ? ` · the snippet raised ${run.error}` : '';
  return (parts.join(' · ') || 'Ran') + raised;
}

/** A printed output in one short line: lines joined by ' / ', at most 60 characters. */
function summaryOutput(text: string): string {
  const one = text.replace(/\r?\n$/, '').split(/\r?\n/).join(' / ');
  if (one === '') return 'nothing';
  return one.length > 60 ? `${one.slice(0, 59)}…` : one;
}
