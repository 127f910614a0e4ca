import { processIo } from './commands/common';
import { runCli } from './program';

runCli(process.argv.slice(2), processIo).then(
  (code) => process.exit(code),
  (err: unknown) => {
    processIo.error(`pagemesh: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
