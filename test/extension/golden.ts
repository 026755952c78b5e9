// Golden post-processing cases: plain-text files under test/extension/golden/postprocess/.
//
//   === case name
//   --- options            (optional) e.g. `tabs tabSize=8 maxLines=3 lang=javascript mode=single crlf`
//   --- document           the document, with ║ at the cursor
//   --- completion         the raw model output
//   --- expected           the document after accepting, with ║ at the end of the inserted text; or `(dropped)`
//
// In every section `→` stands for a tab and `·` for a space (to make trailing/indenting whitespace visible).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContextOptions } from '../../extension/completion/context';

export const CURSOR = '║';
export const GOLDEN_DIR = path.join(__dirname, '..', '..', '..', 'test', 'extension', 'golden', 'postprocess');

export interface GoldenCase {
  file: string;
  name: string;
  options: ContextOptions;
  crlf: boolean;
  document: string;
  completion: string;
  expected: string | undefined;
}

export const unescape = (s: string): string => s.replace(/→/g, '\t').replace(/·/g, ' ');

export function parseOptions(line: string): { options: ContextOptions; crlf: boolean } {
  const options: ContextOptions = { indent: { insertSpaces: true, tabSize: 4 } };
  let crlf = false;
  for (const word of line.split(/\s+/).filter(Boolean)) {
    const [key, value] = word.split('=');
    if (key === 'tabs') options.indent!.insertSpaces = false;
    else if (key === 'tabSize') options.indent!.tabSize = Number(value);
    else if (key === 'maxLines') options.maxLines = Number(value);
    else if (key === 'lang') options.languageId = value;
    else if (key === 'mode') options.mode = value as 'single' | 'multi';
    else if (key === 'crlf') crlf = true;
    else throw new Error(`unknown golden option '${word}'`);
  }
  return { options, crlf };
}

/** `=== name` blocks of `--- section` parts (trailing blank lines trimmed); `required` sections must be there. */
export function parseSections(file: string, content: string, required: string[]): { name: string; sections: Record<string, string> }[] {
  const out: { name: string; sections: Record<string, string> }[] = [];
  for (const block of content.split(/^=== /m).slice(1)) {
    const [header, ...rest] = block.split('\n');
    const sections: Record<string, string> = {};
    let current: string | undefined;
    const body: string[] = [];
    const flush = () => { if (current) sections[current] = body.splice(0).join('\n').replace(/\n+$/, ''); };
    for (const line of rest) {
      const m = /^--- (\w+)\s*$/.exec(line);
      if (m) { flush(); current = m[1]; } else if (current) body.push(line);
    }
    flush();
    for (const key of required) {
      if (!(key in sections)) throw new Error(`${file}: case '${header}' has no '--- ${key}' section`);
    }
    out.push({ name: header.trim(), sections });
  }
  return out;
}

export function parseGolden(file: string, content: string): GoldenCase[] {
  return parseSections(file, content, ['document', 'completion', 'expected']).map(({ name, sections }) => {
    const { options, crlf } = parseOptions(sections.options ?? '');
    const eol = (s: string) => (crlf ? s.replace(/\n/g, '\r\n') : s);
    return {
      file, name, options, crlf,
      document: eol(unescape(sections.document)),
      completion: unescape(sections.completion),
      expected: sections.expected.trim() === '(dropped)' ? undefined : eol(unescape(sections.expected)),
    };
  });
}

export function loadGolden(dir = GOLDEN_DIR): GoldenCase[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()
    .flatMap((f) => parseGolden(f, fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Document text and cursor offset from a text with one ║. */
export function splitCursor(doc: string): { text: string; offset: number } {
  const offset = doc.indexOf(CURSOR);
  if (offset < 0 || doc.indexOf(CURSOR, offset + 1) >= 0) throw new Error('the document needs exactly one ║');
  return { text: doc.slice(0, offset) + doc.slice(offset + 1), offset };
}
