import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  BUILTIN_WORKLOADS,
  ProgressBar,
  bootInprocStack,
  builtinWorkload,
  loadWorkloadFile,
  markdownToHtml,
  renderReport,
  replayWorkload,
  type RunReport,
  type StackFactory,
  type Workload,
} from '@pagemesh/replay';
import {
  LOWER_SERVICES,
  grpcStackFactory,
  remoteStackFactory,
  type RemoteAddresses,
} from '@pagemesh/orchestrator-rpc';
import { renderTable } from '../output/table';
import { startLocalStack } from '../stack/local-stack';
import { parseAddressList, type ServiceName } from '../stack/service-table';
import { distDir, parseIntOption, type CommandIo } from './common';

interface ReplayOptions {
  transport: 'inproc' | 'grpc';
  addresses?: string;
  reuseStack?: boolean;
  seed?: number;
  json?: boolean;
  report?: string;
  list?: boolean;
}

function parseTransport(value: string): 'inproc' | 'grpc' {
  if (value !== 'inproc' && value !== 'grpc')
    throw new InvalidArgumentError(`expected inproc or grpc, got ${JSON.stringify(value)}`);
  return value;
}

/** A built-in workload by name, or a workload file (YAML, JSON, or an oracle .ops script). */
export function resolveWorkload(what: string): Workload {
  const builtin = builtinWorkload(what);
  if (builtin) return builtin;
  if (!/[./]/.test(what)) {
    throw new Error(`no built-in workload ${JSON.stringify(what)} (pagemesh replay --list) and no such file`);
  }
  return loadWorkloadFile(resolve(what));
}

/**
 * The `grpc` transport: for each workload, the five services started as local processes (the
 * bundles of dist/, ephemeral loopback ports, logs in a temporary directory) for its machine, and
 * stopped when the workload is done.
 */
export function localGrpcStackFactory(io: Pick<CommandIo, 'progress'>): StackFactory {
  return grpcStackFactory((serviceArgs) =>
    startLocalStack({
      distDir: distDir(),
      logDir: mkdtempSync(join(tmpdir(), 'pagemesh-replay-')),
      basePort: 0,
      serviceArgs,
      onProgress: (m) => io.progress(m),
    }),
  );
}

/**
 * The services a replay calls, from `--addresses` (`page-allocator=host:port,mmu=...`): all four
 * must be named, since there is no default place for services someone else started.
 */
export function parseReplayAddresses(text: string): RemoteAddresses {
  const none = {} as Record<ServiceName, string>;
  const parsed = parseAddressList(text, none);
  const missing = LOWER_SERVICES.filter((s) => !parsed[s]);
  if (missing.length > 0)
    throw new InvalidArgumentError(
      `${JSON.stringify(text)} does not say where ${missing.join(', ')} listen: ` +
        `expected ${LOWER_SERVICES.map((s) => `${s}=host:port`).join(',')}`,
    );
  return {
    'page-allocator': parsed['page-allocator'],
    mmu: parsed.mmu,
    'device-drivers': parsed['device-drivers'],
    'vma-manager': parsed['vma-manager'],
  };
}

/** The transport the options ask for: services already running, services started per workload, or in-process. */
export function replayStackFactory(options: ReplayOptions, io: Pick<CommandIo, 'progress'>): StackFactory {
  if (options.addresses !== undefined) {
    if (options.transport === 'inproc')
      throw new InvalidArgumentError(
        '--addresses names services to replay on: it cannot go with --transport inproc',
      );
    return remoteStackFactory(parseReplayAddresses(options.addresses), { reuse: options.reuseStack });
  }
  return options.transport === 'grpc' ? localGrpcStackFactory(io) : bootInprocStack;
}

/** One line per expectation that failed, or "every expectation held". */
function verdict(report: RunReport): string {
  if (report.ok) return `${report.workload.name}: every expectation held`;
  return [
    `${report.workload.name}: ${report.failures.length} expectation(s) failed`,
    ...report.failures.map((f) => `  - ${f.at}: ${f.what}: ${f.detail}`),
  ].join('\n');
}

/**
 * `pagemesh replay [WORKLOAD]`: the orchestrator's main job. Replays a built-in workload or a
 * workload file on the simulated CPUs and prints the report; the exit code says whether every
 * expectation held.
 */
export function registerReplay(program: Command, io: CommandIo): void {
  program
    .command('replay')
    .description('replay a workload (built-in name, YAML/JSON file or .ops script) and report')
    .argument('[workload...]', 'built-in names or files, run in turn', ['lab-mmap', 'mixed'])
    .option(
      '--transport <name>',
      'grpc (the services as local processes, started for each workload) or inproc (the domain libraries wired directly)',
      parseTransport,
      'grpc',
    )
    .addOption(
      new Option(
        '--addresses <list>',
        'replay on services already running: page-allocator=host:port,mmu=...,device-drivers=...,vma-manager=... ' +
          "(booted for the workload's machine, and fresh)",
      ).env('PAGEMESH_ADDRESSES'),
    )
    .option(
      '--reuse-stack',
      'with --addresses: replay even on services that have run something since they booted (PFNs and figures then differ)',
    )
    .option('--seed <n>', "override the workload's seed", parseIntOption)
    .option(
      '--report <file>',
      'write the Markdown report here, its SVG pictures beside it; a FILE.html is one page with the pictures inline',
    )
    .option('--list', 'list the built-in workloads')
    .option('--json', 'print the report of each workload as one JSON line')
    .action(async (names: string[], options: ReplayOptions) => {
      if (options.list) {
        if (options.json)
          io.out(JSON.stringify(BUILTIN_WORKLOADS.map(({ name, description }) => ({ name, description }))));
        else
          io.out(
            renderTable(
              ['workload', 'description'],
              BUILTIN_WORKLOADS.map((w) => [w.name, w.description]),
            ),
          );
        return;
      }
      const factory = replayStackFactory(options, io);
      const markdown: string[] = [];
      /** Every picture of every workload, by the file name the Markdown links. */
      const pictures: Record<string, string> = {};
      const html = options.report !== undefined && /\.html?$/i.test(options.report);
      for (const name of names) {
        const workload = resolveWorkload(name);
        const bar = new ProgressBar(process.stderr, { json: options.json });
        const report = await replayWorkload(workload, factory, {
          seed: options.seed,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.finish();
        const rendered = renderReport(report, { dir: names.length > 1 ? workload.name : undefined });
        if (options.json) {
          io.out(JSON.stringify(report));
        } else {
          io.out(rendered.markdown);
          io.out(verdict(report));
        }
        markdown.push(rendered.markdown);
        Object.assign(pictures, rendered.files);
        if (options.report && !html) {
          const dir = dirname(resolve(options.report));
          mkdirSync(dir, { recursive: true });
          for (const [file, svg] of Object.entries(rendered.files)) {
            mkdirSync(dirname(join(dir, file)), { recursive: true });
            writeFileSync(join(dir, file), svg);
          }
        }
        if (!report.ok) io.setExitCode(1);
      }
      if (options.report) {
        const path = resolve(options.report);
        mkdirSync(dirname(path), { recursive: true });
        const text = markdown.join('\n\n');
        writeFileSync(
          path,
          html ? markdownToHtml(text, pictures, `pagemesh replay: ${names.join(', ')}`) : text,
        );
      }
    });
}
