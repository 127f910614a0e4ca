import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { grpcStackFactory } from '@pagemesh/orchestrator-rpc';
import {
  ProgressBar,
  bootInprocStack,
  builtinWorkload,
  renderReport,
  replayWorkload,
  type RunReport,
  type StackFactory,
} from '@pagemesh/replay';
import { formatNumber, renderTable } from '../output/table';
import { startLocalStack } from '../stack/local-stack';
import { SERVICES } from '../stack/service-table';
import { healthTable, stackHealth, type ServiceHealth } from './status';
import { distDir, type CommandIo } from './common';

/** The default workload: the kernel-labs mmap test, then the load-test mix. */
export const DEFAULT_WORKLOADS = ['lab-mmap', 'mixed'] as const;

interface StartOptions {
  json?: boolean;
  transport: 'grpc' | 'inproc';
  report: string;
}

/**
 * The local gRPC stack of `start`: for each workload, the five services started as local
 * processes for its machine, their health checked and shown, and stopped once it is replayed.
 * `health` gathers what each check said.
 */
function checkedLocalStack(io: CommandIo, json: boolean, health: ServiceHealth[][]): StackFactory {
  return grpcStackFactory(async (serviceArgs) => {
    const stack = await startLocalStack({
      distDir: distDir(),
      logDir: mkdtempSync(join(tmpdir(), 'pagemesh-start-')),
      basePort: 0,
      serviceArgs,
      onProgress: json ? undefined : (m) => io.progress(m),
    });
    const checked = await stackHealth(stack.addresses);
    health.push(checked);
    if (!json) io.out(`${healthTable(checked)}\n`);
    return stack;
  });
}

/** Each service's health over every stack started: SERVING only if it always was. */
export function worstHealth(checks: readonly ServiceHealth[][]): { name: string; status: string }[] {
  return SERVICES.map((s) => {
    const seen = checks.map((c) => c.find((h) => h.name === s.name)?.status ?? 'UNKNOWN');
    return {
      name: s.name,
      status: seen.find((st) => st !== 'SERVING') ?? (seen.length ? 'SERVING' : 'NOT_STARTED'),
    };
  });
}

/** Runs of the same line as one line with its count: `matched  ×16`. */
export function squeeze(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i + 1;
    while (j < lines.length && lines[j] === lines[i]) j++;
    out.push(j - i > 1 ? `${lines[i]}  ×${j - i}` : lines[i]);
    i = j;
  }
  return out;
}

function summaryRow(r: RunReport): string[] {
  const expectations = r.processes.reduce((n, p) => n + p.expectations.length, 0) + r.final.length;
  const failed = r.failures.length;
  return [
    r.workload.name,
    String(r.processes.length),
    formatNumber(r.totals.syscalls),
    formatNumber(r.totals.accesses),
    formatNumber(r.totals.faults),
    `${expectations - failed}/${expectations}`,
    `${Math.round(r.totals.durationMs)} ms`,
    r.ok ? 'ok' : 'FAILED',
  ];
}

/**
 * The main job (`npm start`): replays the default workload on the local gRPC stack (for each
 * workload the five services start as local processes booted for its machine, answer health,
 * and stop after it), shows progress, prints a summary and what mmap-test printed, and writes
 * the full report (Markdown and SVG pictures) to reports/latest/. The exit code says whether
 * every service served and every expectation held.
 */
export function registerStart(program: Command, io: CommandIo): void {
  program
    .command('start')
    .description('the main job: replay lab-mmap and mixed on the local gRPC stack, report, stop the services')
    .option(
      '--transport <name>',
      'grpc (the services as local processes) or inproc (the domain libraries wired directly)',
      (v: string) => {
        if (v !== 'grpc' && v !== 'inproc')
          throw new InvalidArgumentError(`expected grpc or inproc, got ${JSON.stringify(v)}`);
        return v;
      },
      'grpc',
    )
    .option(
      '--report <file>',
      'where the full Markdown report goes (its SVG pictures beside it)',
      'reports/latest/report.md',
    )
    .option('--json', 'print one JSON object (health and the replay reports) instead of tables')
    .action(async (options: StartOptions) => {
      const health: ServiceHealth[][] = [];
      const factory =
        options.transport === 'grpc' ? checkedLocalStack(io, options.json === true, health) : bootInprocStack;
      const reports: RunReport[] = [];
      const errors: { workload: string; error: string }[] = [];
      const markdown: string[] = [];
      const path = resolve(options.report);
      mkdirSync(dirname(path), { recursive: true });
      for (const name of DEFAULT_WORKLOADS) {
        const workload = builtinWorkload(name);
        if (!workload) throw new Error(`built-in workload ${name} is missing`);
        if (!options.json) io.out(`${name}: ${workload.description}`);
        const bar = new ProgressBar(process.stderr, { json: options.json, label: name });
        let report: RunReport;
        try {
          report = await replayWorkload(workload, factory, {
            onProgress: (d, t) => bar.update(d, t),
          });
        } catch (e) {
          // one workload that cannot run (a service refused it) does not hide the others' reports
          bar.finish();
          const error = e instanceof Error ? e.message : String(e);
          errors.push({ workload: name, error });
          io.error(`${name}: could not be replayed: ${error}`);
          io.setExitCode(1);
          continue;
        }
        bar.finish();
        const rendered = renderReport(report, { dir: name });
        for (const [file, svg] of Object.entries(rendered.files)) {
          mkdirSync(dirname(join(dirname(path), file)), { recursive: true });
          writeFileSync(join(dirname(path), file), svg);
        }
        markdown.push(rendered.markdown);
        reports.push(report);
        if (!report.ok) io.setExitCode(1);
      }
      writeFileSync(path, markdown.join('\n\n'));
      const services = worstHealth(health);
      if (options.transport === 'grpc' && services.some((h) => h.status !== 'SERVING')) io.setExitCode(1);

      if (options.json) {
        io.out(JSON.stringify({ services, replays: reports, errors }));
        return;
      }
      io.out(`\nreplay (transport: ${reports[0]?.transport ?? options.transport}; services stopped)`);
      io.out(
        renderTable(
          ['workload', 'processes', 'syscalls', 'accesses', 'faults', 'expectations', 'time', 'result'],
          reports.map(summaryRow),
        ),
      );
      for (const r of reports)
        for (const f of r.failures) io.out(`  ${r.workload.name}: ${f.at}: ${f.what}: ${f.detail}`);
      for (const e of errors) io.out(`  ${e.workload}: could not be replayed: ${e.error}`);
      const lab = reports.find((r) => r.workload.name === 'lab-mmap');
      if (lab) {
        io.out('\nwhat mmap-test printed (repeated lines counted):');
        for (const p of lab.processes) for (const line of squeeze(p.output)) io.out(`  ${line}`);
      }
      io.out(`\nfull report: ${path} (pictures beside it)`);
    });
}
