import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench';
import { registerConform } from './commands/conform';
import { registerProc } from './commands/proc';
import { registerReplay } from './commands/replay';
import { registerStart } from './commands/start';
import { registerStatus } from './commands/status';
import { registerUp } from './commands/up';
import type { CliIo, CommandIo } from './commands/common';

/**
 * The pagemesh command. Every command has --help; every command that reports has --json.
 */
export function buildProgram(io: CommandIo): Command {
  const program = new Command('pagemesh')
    .description('Linux kernel memory management as gRPC microservices')
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.error(s.trimEnd()) })
    // Errors come back to runCli as exceptions instead of exiting the process; subcommands
    // inherit this only when it is set before they are added.
    .exitOverride();
  registerStart(program, io);
  registerUp(program, io);
  registerStatus(program, io);
  registerReplay(program, io);
  registerProc(program, io);
  registerConform(program, io);
  registerBench(program, io);
  return program;
}

/** Runs the command line; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const commandIo: CommandIo = {
    ...io,
    setExitCode: (code) => {
      exitCode = Math.max(exitCode, code);
      io.setExitCode?.(code);
    },
  };
  const program = buildProgram(commandIo);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    io.error(`pagemesh: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
