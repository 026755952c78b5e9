// THE single import point for the editor's completion context and post-processing
// (extension/completion/context.ts + postprocess.ts), so `complete`, `bench` and `latency` make the same
// single/multi-line decision and apply exactly the filters the editor applies.
import { buildContext, type CompletionContext } from '../completion/context';
import { cutIsFinal, postprocess } from '../completion/postprocess';

export type LinesOption = 'auto' | 'single' | 'multi';

/** The editor's context for a cursor between `prefix` and `suffix` ('auto': the editor's own mode choice). */
export function editorContext(prefix: string, suffix: string, lines: LinesOption = 'auto'): CompletionContext {
  return buildContext(prefix + suffix, prefix.length, lines === 'auto' ? {} : { mode: lines });
}

/**
 * The editor's post-processing of raw model text. Returns what ends up inserted at the cursor: '' when the
 * editor would show nothing; auto-closed closers that the completion re-adds (they replace the same closers
 * in the document) are taken off again so the result compares with a ground-truth middle.
 */
export function applyPostprocess(ctx: CompletionContext, raw: string): string {
  const out = postprocess(ctx, raw);
  if (out === undefined) return '';
  return ctx.closers && out.endsWith(ctx.closers) ? out.slice(0, out.length - ctx.closers.length) : out;
}

/** The editor's early stop: decoding ends once post-processing's cut is settled (same text, sooner). */
export function editorIsFinal(ctx: CompletionContext): (text: string) => boolean {
  return (text) => cutIsFinal(ctx, text);
}
