// The completion settings' defaults, read from the one place they are declared: package.json's
// contributes.configuration (VS Code shows and applies the same values). The editor, the CLI and the benchmarks
// start from these; the CLI's flags override them explicitly. No vscode import: tests and the CLI use it.
import { contributes } from '../../package.json';

export interface CompleterSettings {
  maxLines: number;
  maxNewTokens: number;
  timeBudgetMs: number;
  debounceMs: number;
  maxFileSizeKB: number;
  maxLineLength: number;
  /** Automatic suggestions whose confidence (confidenceOf) is below this are not shown; manual triggers always show
   *  the best. 0 shows everything. */
  minConfidence: number;
}

const properties = contributes.configuration.properties;

/** The contributed default of setting `tinyfim.<key>`. */
export function settingDefault<K extends keyof typeof properties>(key: K): (typeof properties)[K]['default'] {
  return properties[key].default;
}

export const DEFAULT_SETTINGS: Readonly<CompleterSettings> = Object.freeze({
  maxLines: settingDefault('tinyfim.completions.maxLines'),
  maxNewTokens: settingDefault('tinyfim.completions.maxNewTokens'),
  timeBudgetMs: settingDefault('tinyfim.completions.timeBudgetMs'),
  debounceMs: settingDefault('tinyfim.completions.debounceMs'),
  maxFileSizeKB: settingDefault('tinyfim.completions.maxFileSizeKB'),
  maxLineLength: settingDefault('tinyfim.completions.maxLineLength'),
  minConfidence: settingDefault('tinyfim.completions.minConfidence'),
});

/** minConfidence: chosen on held-out lines (models/default/MODEL_CARD.md, "Confidence gate"; bench/gate.ts). */
export const DEFAULT_MIN_CONFIDENCE = DEFAULT_SETTINGS.minConfidence;
