// tinyfim.completions.exclude: glob patterns for files that never get completions (secrets, keys). Pure, so the
// matching rules are testable without an editor. A pattern without '/' matches a file name in any folder
// (`.env*`, `*.pem`); one with '/' matches the path from the workspace folder (`build/**`, `**/secrets/*`).

export const DEFAULT_EXCLUDE = ['.env*', '*.pem', '*.key', '*secret*', '*credential*'];

/** A glob as a regular expression: `*` and `?` stay within one path segment, `**` spans segments, `{a,b}` is
 *  either; matching ignores case (file systems on Windows and macOS do). */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let inBraces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more whole segments; a trailing `**` matches the rest.
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '{') {
      inBraces++;
      re += '(?:';
    } else if (c === '}' && inBraces > 0) {
      inBraces--;
      re += ')';
    } else if (c === ',' && inBraces > 0) {
      re += '|';
    } else {
      re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 'i');
}

export interface ExcludeMatch { pattern: string }

/**
 * The first pattern that matches the file, or undefined. `relativePath` is the path from its workspace
 * folder ('/'-separated), or the absolute path for files outside any folder.
 */
export function excludedBy(relativePath: string, patterns: readonly string[]): ExcludeMatch | undefined {
  const rel = relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  for (const raw of patterns) {
    const pattern = raw.trim();
    if (!pattern) continue;
    const re = globToRegExp(pattern.replace(/^\/+/, ''));
    const subject = pattern.includes('/') ? rel : name;
    if (re.test(subject)) return { pattern };
  }
  return undefined;
}
