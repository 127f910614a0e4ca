// What the container smoke test reads in `pagemesh replay --json` reports (one JSON line each):
//
//   node docker/replay-reports.mjs machines FILE         one line per report: NAME ARCH MEMORY CPUS TLB_ENTRIES
//   node docker/replay-reports.mjs verdict FILE          NAME: the verdict and each failure; exit 1 unless ok
//   node docker/replay-reports.mjs same WORKLOAD A B     exit 1 unless the two reports of WORKLOAD say the
//                                                        machine did the same things (see SIMULATED)
//
// The in-process replay is the reference: run from a freshly booted machine, a replay over gRPC
// on the containers must give the same PFNs, page tables, TLB figures and /proc texts.
import { readFileSync } from 'node:fs';

/**
 * The parts of a report that are the simulated machine's doing, equal on every transport from a
 * fresh boot. Left out: the transport's name, the boundaries' latencies and the duration, which
 * differ from run to run (and the boundaries' calls, which differ between transports).
 */
const SIMULATED = [
  'machine',
  'ok',
  'failures',
  'final',
  'processes',
  'before',
  'after',
  'pageTablePages',
  'tlb',
  'allocations',
  'buddySeries',
  'memoryMap',
];
/** The engine's counts in `totals` (its durationMs is wall-clock). */
const COUNTS = ['rounds', 'syscalls', 'accesses', 'faults', 'cr3Switches'];

function reports(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
}

function reportOf(file, workload) {
  const found = reports(file).find((r) => r.workload.name === workload);
  if (!found) throw new Error(`${file} has no report of ${workload}`);
  return found;
}

/** The first place two JSON values differ, as a path, or null when they are equal. */
function firstDifference(a, b, path) {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null))
    return path;
  if (typeof a !== 'object' || a === null) return a === b ? null : path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

const [command, ...args] = process.argv.slice(2);
if (command === 'machines') {
  for (const r of reports(args[0])) {
    const m = r.machine;
    console.log(`${r.workload.name} ${m.arch} ${m.memory} ${m.cpus} ${m.tlbEntries}`);
  }
} else if (command === 'verdict') {
  let ok = true;
  for (const r of reports(args[0])) {
    ok &&= r.ok;
    const n = r.failures.length;
    console.log(`${r.workload.name}: ${r.ok ? 'every expectation held' : `${n} expectation(s) failed`}`);
    for (const f of r.failures) console.log(`  - ${f.at}: ${f.what}: ${f.detail}`);
  }
  process.exit(ok ? 0 : 1);
} else if (command === 'same') {
  const [workload, fileA, fileB] = args;
  const a = reportOf(fileA, workload);
  const b = reportOf(fileB, workload);
  for (const key of SIMULATED) {
    const d = firstDifference(a[key], b[key], key);
    if (d) {
      console.log(`${workload}: ${a.transport} and ${b.transport} differ at ${d}`);
      process.exit(1);
    }
  }
  for (const key of COUNTS) {
    if (a.totals[key] !== b.totals[key]) {
      console.log(`${workload}: ${a.transport} and ${b.transport} differ at totals.${key}`);
      process.exit(1);
    }
  }
  console.log(`${workload}: the same report as ${a.transport}`);
} else {
  console.error('usage: node docker/replay-reports.mjs machines FILE | verdict FILE | same WORKLOAD A B');
  process.exit(2);
}
