// Ghost text while the suggest widget is open. VS Code shows an inline item then only if it extends the selected
// suggestion: its range starts where the suggestion's range starts (and ends at or after it) and its text starts
// with the suggestion's text. So the model completes the document as it will be once the suggestion is taken,
// and the answer is mapped back onto the real document. Pure offsets, no vscode.

export interface SelectedItem {
  /** Offsets of the range the suggestion replaces, and its text. */
  start: number;
  end: number;
  text: string;
}

/** The document with the selected suggestion applied, and the cursor just after it. */
export function applySelected(text: string, item: SelectedItem): { text: string; offset: number } {
  return { text: text.slice(0, item.start) + item.text + text.slice(item.end), offset: item.start + item.text.length };
}

/**
 * A completion of the applied document (replacing [start, end) there with insertText) as an item for the real
 * document: undefined when it does not start at or after the applied cursor (it could not extend the suggestion).
 */
export function extendSelected(
  applied: { text: string; offset: number }, item: SelectedItem, completion: { insertText: string; start: number; end: number },
): { insertText: string; start: number; end: number } | undefined {
  if (completion.start < applied.offset || completion.end < completion.start) return undefined;
  const between = applied.text.slice(applied.offset, completion.start);
  // Offsets after the applied cursor are the real document's offsets after the suggestion's range, shifted.
  const end = item.end + (completion.end - applied.offset);
  return { insertText: item.text + between + completion.insertText, start: item.start, end };
}
