// Errors the engine reports to its callers (the editor shows `message`; `code` lets it choose an action).

export type ModelLoadErrorCode =
  | 'missing_file'
  | 'bad_manifest'
  | 'sha256_mismatch'
  | 'bad_onnx'
  | 'io_mismatch'
  | 'vocab_mismatch'
  | 'tokenizer_error';

/** Loading a model folder failed; `path` names the offending file when there is one. */
export class ModelLoadError extends Error {
  constructor(
    public readonly code: ModelLoadErrorCode,
    message: string,
    public readonly path?: string,
  ) {
    super(message);
    this.name = 'ModelLoadError';
  }
}

/** The first few names of a list for a message ("a, b and 7990 more"): a corrupt file must not make a huge one. */
export function someOf(names: readonly string[], max = 6): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
