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
