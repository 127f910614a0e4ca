import type { Command } from 'commander';
import { allBenchmarks, stopBenchmarks } from '../bench/registry';
import { runBenchmark, type BenchResult } from '../bench/benchmark';
import { formatNumber, renderTable } from '../output/table';
import { parseIntOption, type CommandIo } from './common';

interface BenchOptions {
  json?: boolean;
  filter?: string;
  repeats: number;
  list?: boolean;
}

export function registerBench(program: Command, io: CommandIo): void {
  program
    .command('bench')
    .description('run the benchmarks and print their medians (figures, not tests)')
    .option('--filter <text>', 'only benchmarks whose id contains this text')
    .option('--repeats <n>', 'measured runs per benchmark (after one warm-up)', parseIntOption, 5)
    .option('--list', 'list the benchmark ids and goals without running them')
    .option('--json', 'print one JSON line per benchmark: {"id","value","unit"}')
    .action(async (options: BenchOptions) => {
      const benches = allBenchmarks().filter((b) => !options.filter || b.id.includes(options.filter));
      if (options.list) {
        for (const b of benches)
          io.out(`${b.id}  (${b.unit}${b.goal ? `, goal ${b.goal.op} ${b.goal.value}` : ''})`);
        return;
      }
      if (options.repeats < 1) throw new RangeError('--repeats must be at least 1');
      const results: BenchResult[] = [];
      try {
        for (const [i, bench] of benches.entries()) {
          if (!options.json) io.progress(`[${i + 1}/${benches.length}] ${bench.id}`);
          const result = await runBenchmark(bench, options.repeats);
          results.push(result);
          if (options.json) {
            io.out(
              JSON.stringify({
                id: result.id,
                value: result.value,
                unit: result.unit,
                runs: result.runs,
                goal: result.goal ?? null,
              }),
            );
          }
        }
      } finally {
        await stopBenchmarks();
      }
      if (!options.json) {
        io.out(
          renderTable(
            ['benchmark', 'median', 'unit', 'goal', 'met'],
            results.map((r) => [
              r.id,
              formatNumber(r.value),
              r.unit,
              r.goal ? `${r.goal.op} ${formatNumber(r.goal.value)}` : '-',
              r.meetsGoal === undefined ? '-' : r.meetsGoal ? 'yes' : 'no',
            ]),
          ),
        );
        io.out(`\nmedian of ${options.repeats} runs after one warm-up; ${results.length} benchmarks`);
      }
    });
}
