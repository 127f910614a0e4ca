import { readFileSync, readdirSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareJsonl, type Difference, type Tier } from './compare';
import { runScript, type RunOptions } from './runner';
import { OpsParseError } from './ops-parser';

export interface ConformanceCase {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'unsupported';
  /** differences at the tier (first one unless `allDiffs`), or the reason for unsupported/failed */
  readonly diffs: Difference[];
  readonly reason?: string;
}

export interface ConformanceReport {
  readonly cases: ConformanceCase[];
  readonly passed: number;
  readonly failed: number;
  readonly unsupported: number;
}

export interface ConformanceOptions extends RunOptions {
  readonly tier?: Tier;
  /** report every difference, not only the first of each case */
  readonly allDiffs?: boolean;
  /** write the model's NAME.jsonl here */
  readonly outDir?: string;
  /** only these case names */
  readonly only?: readonly string[];
}

/** Runs every DIR/cases/*.ops on a fresh model process and compares with DIR/expected/NAME.jsonl. */
export async function runConformance(dir: string, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const tier = opts.tier ?? 2;
  const names = readdirSync(join(dir, 'cases'))
    .filter((f) => f.endsWith('.ops'))
    .map((f) => f.slice(0, -4))
    .filter((n) => !opts.only || opts.only.includes(n))
    .sort();
  if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
  const cases: ConformanceCase[] = [];
  for (const name of names) cases.push(await runCase(dir, name, tier, opts));
  const count = (s: ConformanceCase['status']) => cases.filter((c) => c.status === s).length;
  return { cases, passed: count('passed'), failed: count('failed'), unsupported: count('unsupported') };
}

async function runCase(
  dir: string,
  name: string,
  tier: Tier,
  opts: ConformanceOptions,
): Promise<ConformanceCase> {
  const expectedPath = join(dir, 'expected', `${name}.jsonl`);
  let result;
  try {
    result = await runScript(readFileSync(join(dir, 'cases', `${name}.ops`), 'utf8'), opts);
  } catch (e) {
    const reason =
      e instanceof OpsParseError ? `parse error: ${e.message}` : `model error: ${(e as Error).message}`;
    return { name, status: 'failed', diffs: [], reason };
  }
  if (result.unsupported) return { name, status: 'unsupported', diffs: [], reason: result.unsupported };
  const actual = result.lines.map((l) => l + '\n').join('');
  if (opts.outDir) writeFileSync(join(opts.outDir, `${name}.jsonl`), actual);
  if (!existsSync(expectedPath))
    return { name, status: 'failed', diffs: [], reason: `missing ${expectedPath}` };
  const diffs = compareJsonl(readFileSync(expectedPath, 'utf8'), actual, tier, opts.allDiffs ?? false);
  return { name, status: diffs.length ? 'failed' : 'passed', diffs };
}

/** One line per case and the summary, as the CLI prints them. */
export function formatConformanceReport(r: ConformanceReport): string {
  const lines: string[] = [];
  for (const c of r.cases) {
    if (c.status === 'passed') lines.push(`ok          ${c.name}`);
    else if (c.status === 'unsupported') lines.push(`UNSUPPORTED ${c.name}: ${c.reason}`);
    else {
      lines.push(`FAIL        ${c.name}${c.reason ? `: ${c.reason}` : ''}`);
      for (const d of c.diffs) {
        lines.push(
          `    ${d.path}\n        expected: ${JSON.stringify(d.expected)}\n        actual:   ${JSON.stringify(d.actual)}`,
        );
      }
    }
  }
  lines.push(
    `${r.passed} passed, ${r.failed} failed${r.unsupported ? `, ${r.unsupported} unsupported` : ''}`,
  );
  return lines.join('\n');
}
