import { existsSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { tmpdir } from 'node:os';
import {
  ORACLE_MACHINE,
  formatConformanceReport,
  runConformance,
  type ConformanceReport,
  type Target,
  type Tier,
} from '@pagemesh/vma-manager';
import { ClientPool } from '@pagemesh/service-kit';
import { startLocalStack } from '../stack/local-stack';
import { distDir, type CommandIo } from './common';
import { ServiceTargets } from './conform-service-target';

interface ConformOptions {
  tier: Tier;
  transport: 'inproc' | 'grpc';
  out?: string;
  case?: string[];
  allDiffs?: boolean;
  json?: boolean;
}

/**
 * Runs the cases on the services as local processes, on a machine the size of the recording one
 * (24 GiB of RAM, no swap): every case on a fresh process of the vma-manager service, whose
 * syscalls, faults, fork, /proc files and pagemap cross gRPC, with this command as its CPU (user
 * accesses on the mmu, faults delivered to the vma-manager).
 */
async function overGrpc(
  run: (newTarget: () => Promise<Target>) => Promise<ConformanceReport>,
  io: CommandIo,
): Promise<ConformanceReport> {
  const stack = await startLocalStack({
    distDir: distDir(),
    logDir: mkdtempSync(join(tmpdir(), 'pagemesh-conform-')),
    basePort: 0,
    only: ['page-allocator', 'mmu', 'device-drivers', 'vma-manager'],
    serviceArgs: { 'page-allocator': [`--mem=${ORACLE_MACHINE.totalRamPages * 4096}`] },
    onProgress: (m) => io.progress(m),
  });
  // The kit's pool: message limits as large as the services' (a 1 GiB pagemap is ~5 MB), deadlines.
  const pool = new ClientPool();
  const targets = new ServiceTargets(
    {
      vmaManager: stack.addresses['vma-manager'],
      mmu: stack.addresses.mmu,
      pageAllocator: stack.addresses['page-allocator'],
    },
    pool,
  );
  try {
    return await run(() => targets.newTarget());
  } finally {
    targets.close();
    pool.close();
    await stack.stop();
  }
}

function parseTier(value: string): Tier {
  if (value !== '1' && value !== '2' && value !== '3')
    throw new InvalidArgumentError(`expected 1, 2 or 3, got ${JSON.stringify(value)}`);
  return Number(value) as Tier;
}

function parseTransport(value: string): 'inproc' | 'grpc' {
  if (value !== 'inproc' && value !== 'grpc')
    throw new InvalidArgumentError(`expected inproc or grpc, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * `pagemesh conform DIR`: replays every DIR/cases/*.ops on a fresh model process, writes the
 * answers in vmtrace's JSONL format and compares them with DIR/expected/ as compare.py does.
 */
export function registerConform(program: Command, io: CommandIo): void {
  program
    .command('conform')
    .description('replay the kernel oracle (DIR/cases/*.ops) and compare with what Linux answered')
    .argument('<dir>', 'an oracle directory with cases/ and expected/')
    .option('--tier <n>', 'how strictly to compare: 1, 2 or 3 (as compare.py)', parseTier, 2 as Tier)
    .option(
      '--transport <name>',
      'inproc (domain libraries wired directly) or grpc (each case on a process of the vma-manager service, the services started as local processes)',
      parseTransport,
      'inproc',
    )
    .option('--out <dir>', "write the model's NAME.jsonl files here")
    .option('--case <name...>', 'only these cases')
    .option('--all-diffs', 'show every difference of a failing case, not only the first')
    .option('--json', 'print the report as JSON')
    .action(async (dirArg: string, options: ConformOptions) => {
      const dir = resolve(dirArg);
      if (!existsSync(join(dir, 'cases')) || !existsSync(join(dir, 'expected'))) {
        throw new Error(`${dir} is not an oracle directory: it needs cases/ and expected/`);
      }
      const run = (newTarget?: () => Promise<Target>) =>
        runConformance(dir, {
          tier: options.tier,
          outDir: options.out ? resolve(options.out) : undefined,
          only: options.case,
          allDiffs: options.allDiffs,
          newTarget,
        });
      const report = options.transport === 'grpc' ? await overGrpc(run, io) : await run();
      if (options.json) {
        io.out(JSON.stringify({ tier: options.tier, transport: options.transport, ...report }));
      } else {
        io.out(formatConformanceReport(report));
      }
      if (report.failed > 0) io.setExitCode(1);
    });
}
