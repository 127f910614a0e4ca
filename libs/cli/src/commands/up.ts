import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startLocalStack, type RunningStack } from '../stack/local-stack';
import { DEFAULT_BASE_PORT } from '../stack/service-table';
import { renderTable } from '../output/table';
import { distDir, parseIntOption, type CommandIo } from './common';

export interface UpOptions {
  basePort: number;
  host: string;
  logDir?: string;
  arch?: string;
  mem?: string;
  json?: boolean;
}

/** Starts the local stack with the options `up` and `start` share. */
export async function bringUp(options: UpOptions, io: CommandIo): Promise<RunningStack> {
  const logDir = options.logDir ?? join(tmpdir(), `pagemesh-${process.pid}`);
  const pageAllocatorArgs = [
    ...(options.arch ? [`--arch=${options.arch}`] : []),
    ...(options.mem ? [`--mem=${options.mem}`] : []),
  ];
  return startLocalStack({
    distDir: distDir(),
    logDir,
    basePort: options.basePort,
    host: options.host,
    serviceArgs: { 'page-allocator': pageAllocatorArgs },
    onProgress: options.json ? undefined : (m) => io.progress(m),
  });
}

export function stackTable(stack: RunningStack): string {
  return renderTable(
    ['service', 'address', 'metrics', 'pid', 'owns'],
    stack.members.map((m) => [m.name, m.address, m.metricsUrl ?? '-', String(m.pid), m.owns]),
  );
}

export function stackJson(stack: RunningStack): unknown {
  return {
    services: stack.members.map((m) => ({
      name: m.name,
      grpcService: m.grpcService,
      address: m.address,
      metricsUrl: m.metricsUrl,
      pid: m.pid,
      logFile: m.logFile,
      status: 'SERVING',
    })),
  };
}

export function registerUp(program: Command, io: CommandIo): void {
  program
    .command('up')
    .description('start the five services as local processes on loopback and keep them up until Ctrl-C')
    .option(
      '--base-port <port>',
      'gRPC port of page-allocator; the others follow (0 = ephemeral ports)',
      parseIntOption,
      DEFAULT_BASE_PORT,
    )
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--arch <arch>', 'machine profile of the page allocator: x86_64 or x86')
    .option('--mem <size>', 'memory size of the machine, e.g. 4G, 512M')
    .option('--log-dir <dir>', 'where each service writes its log (default: a temp dir)')
    .option('--json', 'print the stack as one JSON line instead of a table')
    .action(async (options: UpOptions) => {
      const stack = await bringUp(options, io);
      if (options.json) io.out(JSON.stringify(stackJson(stack)));
      else io.out(`${stackTable(stack)}\n\nAll services SERVING. Press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      if (!options.json) io.progress('stopping the stack');
      await stack.stop();
      if (!options.json) io.out('stopped');
    });
}
