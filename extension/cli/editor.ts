// The editor's completion path for the CLI verbs and the benchmarks: the provider's own Completer
// (extension/completion/completer.ts: gating, context, prompt window, token limits, Engine.complete, post-processing,
// confidence gate) over a loaded Engine, with the editor's settings (package.json defaults). The one difference is
// set here: no debounce (it is a deliberate wait, not work). Everything else a caller changes, it passes explicitly.
import { Completer, type Completion, type CompletionEngine, type Outcome } from '../completion/completer';
import type { Mode } from '../completion/context';
import type { TriggerKind } from '../completion/debounce';
import { DEFAULT_SETTINGS, type CompleterSettings } from '../completion/settings';
import type { FimMode } from '../engine';

export interface PathOptions {
  /** Overrides of the editor's settings (e.g. --budget-ms, --max-new-tokens). */
  settings?: Partial<CompleterSettings>;
  /** FIM prompt order (default: the model's). */
  mode?: FimMode;
  /** Forces single- or multi-line completions (default: the editor's choice by context). */
  lines?: Mode;
  /** Token healing (default on). */
  heal?: boolean;
  /** false: decode to the token limit (the baseline of bench/completion.ts, `complete --raw`). */
  earlyStop?: boolean;
}

export interface Answer {
  outcome: Outcome;
  /** What the first suggestion inserts at the cursor, less the auto-closed closers it re-adds (they replace the same
   *  closers in the document), so that it compares with a ground-truth middle; '' when nothing is shown. */
  text: string;
  /** The same for every suggestion offered (a manual trigger's candidates), best first. */
  all: string[];
  /** Wall time of the request through the whole path (ms). */
  ms: number;
}

export const INDENT = { insertSpaces: true, tabSize: 4 };

export class EditorPath {
  readonly completer: Completer;
  readonly settings: CompleterSettings;

  constructor(engine: CompletionEngine, o: PathOptions = {}) {
    this.settings = { ...DEFAULT_SETTINGS, debounceMs: 0, ...o.settings };
    this.completer = new Completer(async () => engine, () => this.settings, {
      request: { mode: o.mode, heal: o.heal }, earlyStop: o.earlyStop, lines: o.lines,
    });
  }

  /** One request at `offset` of a Python document. `docId` names the document for the typing-through cache;
   *  `fresh` (default) forgets earlier suggestions first, so the answer is the model's. */
  async complete(text: string, offset: number, trigger: TriggerKind, o: { docId?: string; fresh?: boolean } = {}): Promise<Answer> {
    if (o.fresh !== false) this.completer.cache.clear();
    const t0 = performance.now();
    const outcome = await this.completer.complete({ docId: o.docId ?? 'cli', text, offset, languageId: 'python', indent: INDENT, trigger });
    const ms = performance.now() - t0;
    const inserted = (c: Completion): string => {
      const closers = text.slice(c.start, c.end);
      return closers && c.insertText.endsWith(closers) ? c.insertText.slice(0, -closers.length) : c.insertText;
    };
    const shown = outcome.candidates ?? (outcome.completion ? [outcome.completion] : []);
    const all = shown.map(inserted).filter((t) => t.trim() !== '');
    return { outcome, text: all[0] ?? '', all, ms };
  }
}
