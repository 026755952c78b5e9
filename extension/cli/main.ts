// `npm run --silent tinyfim -- <verb> ...`: the engine outside VS Code (no `vscode` import anywhere below).
// Results go to stdout (`--json`: one JSON line), progress and notes to stderr.
import { CliError } from './args';
import { verbs } from './verbs';

function topHelp(): string {
  const lines = Object.entries(verbs).map(([name, v]) => `  ${name.padEnd(10)} ${v.description}`);
  return [
    'usage: npm run --silent tinyfim -- <verb> [options]',
    '',
    'TinyFIM engine CLI: completions go through the editor\'s own completion path (its Completer and settings defaults).',
    '',
    'verbs:',
    ...lines,
    '',
    'Run `npm run --silent tinyfim -- <verb> --help` for a verb\'s options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name ? 0 : 2;
  }
  const verb = verbs[name];
  if (!verb) {
    console.error(`error: unknown verb '${name}'\n\n${topHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: npm run --silent tinyfim -- ${name} ${verb.usage}\n\n${verb.description}`);
    return 0;
  }
  try {
    return await verb.run(rest);
  } catch (err) {
    if (err instanceof CliError || (err instanceof Error && (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    throw err;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
