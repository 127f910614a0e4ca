import type { Command } from 'commander';
import { bringUp, stackTable } from './up';
import { healthTable, stackHealth } from './status';
import type { CommandIo } from './common';

interface StartOptions {
  json?: boolean;
  arch?: string;
  mem?: string;
}

/**
 * The main job (`npm start`). Until the orchestrator's replay lands it brings the local stack
 * up on ephemeral ports, shows every service's health, and shuts the stack down.
 */
export function registerStart(program: Command, io: CommandIo): void {
  program
    .command('start')
    .description('the main job: bring the local stack up, report, and shut it down')
    .option('--arch <arch>', 'machine profile: x86_64 or x86')
    .option('--mem <size>', 'memory size of the machine, e.g. 4G')
    .option('--json', 'print one JSON report instead of tables')
    .action(async (options: StartOptions) => {
      const stack = await bringUp({ basePort: 0, host: '127.0.0.1', ...options }, io);
      try {
        const health = await stackHealth(stack.addresses);
        if (options.json) {
          io.out(JSON.stringify({ services: health }));
        } else {
          io.out(stackTable(stack));
          io.out('');
          io.out(healthTable(health));
        }
        if (health.some((h) => h.status !== 'SERVING')) io.setExitCode(1);
      } finally {
        await stack.stop();
      }
      if (!options.json) io.out('\nstack stopped cleanly');
    });
}
