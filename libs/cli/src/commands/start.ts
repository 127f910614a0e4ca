import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ProgressBar,
  bootInprocStack,
  builtinWorkload,
  renderReport,
  replayWorkload,
  type RunReport,
} from '@pagemesh/replay';
import { formatNumber, renderTable } from '../output/table';
import { bringUp, stackTable } from './up';
import { healthTable, stackHealth } from './status';
import type { CommandIo } from './common';

/** The default workload: the kernel-labs mmap test, then the load-test mix. */
export const DEFAULT_WORKLOADS = ['lab-mmap', 'mixed'] as const;

interface StartOptions {
  json?: boolean;
  arch?: string;
  mem?: string;
  report: string;
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
 * The main job (`npm start`): brings the five services up on loopback and checks each answers
 * health, then replays the default workload and reports. The replay runs on the in-process
 * transport (the domain libraries wired directly) until the gRPC transport of the replay engine
 * carries device files too; the report says which transport ran.
 */
export function registerStart(program: Command, io: CommandIo): void {
  program
    .command('start')
    .description('the main job: bring the stack up, check its health, replay lab-mmap and mixed, report')
    .option('--arch <arch>', 'machine profile of the services: x86_64 or x86')
    .option('--mem <size>', 'memory size of the services, e.g. 4G')
    .option(
      '--report <file>',
      'where the full Markdown report goes (its SVG pictures beside it)',
      'reports/latest/report.md',
    )
    .option('--json', 'print one JSON object (health and the replay reports) instead of tables')
    .action(async (options: StartOptions) => {
      const stack = await bringUp({ basePort: 0, host: '127.0.0.1', ...options }, io);
      let health;
      try {
        health = await stackHealth(stack.addresses);
        if (!options.json) {
          io.out(stackTable(stack));
          io.out('');
          io.out(healthTable(health));
        }
      } finally {
        await stack.stop();
      }
      if (health.some((h) => h.status !== 'SERVING')) io.setExitCode(1);

      const reports: RunReport[] = [];
      const markdown: string[] = [];
      const path = resolve(options.report);
      mkdirSync(dirname(path), { recursive: true });
      for (const name of DEFAULT_WORKLOADS) {
        const workload = builtinWorkload(name);
        if (!workload) throw new Error(`built-in workload ${name} is missing`);
        const bar = new ProgressBar(process.stderr, { json: options.json });
        const report = await replayWorkload(workload, bootInprocStack, {
          onProgress: (d, t) => bar.update(d, t),
        });
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

      if (options.json) {
        io.out(JSON.stringify({ services: health, replays: reports }));
        return;
      }
      io.out('\nstack stopped cleanly\n');
      io.out(`replay (transport: ${reports[0]?.transport ?? 'inproc'})`);
      io.out(
        renderTable(
          ['workload', 'processes', 'syscalls', 'accesses', 'faults', 'expectations', 'time', 'result'],
          reports.map(summaryRow),
        ),
      );
      for (const r of reports)
        for (const f of r.failures) io.out(`  ${r.workload.name}: ${f.at}: ${f.what}: ${f.detail}`);
      const lab = reports.find((r) => r.workload.name === 'lab-mmap');
      if (lab) {
        io.out('\nwhat mmap-test printed (repeated lines counted):');
        for (const p of lab.processes) for (const line of squeeze(p.output)) io.out(`  ${line}`);
      }
      io.out(`\nfull report: ${path} (pictures beside it)`);
    });
}
