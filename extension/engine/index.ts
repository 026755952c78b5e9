// The engine's public surface (no `vscode` import anywhere under engine/).
export { ModelLoadError, type ModelLoadErrorCode } from './errors';
export { Engine, confidence, type CompletionCandidate, type CompletionRequest, type CompletionResult, type TraceResult } from './engine';
export type { ModelManifest, FimPrompts, TaskPrompt, Architecture } from './manifest';
export type { StopReason, Strategy } from './decode';
export type { FimMode } from './prompts';
export { Tokenizer } from './tokenizer';
