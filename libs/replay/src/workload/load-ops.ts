import { DEFAULT_MACHINE, DEFAULT_SEED } from './build-workload';
import { WorkloadError, type WorkloadProblem } from './errors';
import type { AccessExpect, Op, SyscallExpect, Workload } from './model';
import { parseAddr, parseAdvice, parseMmapFlags, parseMremapFlags, parseProt, type Parsed } from './values';

/** An oracle script asks the kernel and records whatever it answers: no outcome is required. */
const ANY_RESULT: SyscallExpect = { errno: '*' };
const ANY_SIGNAL: AccessExpect = { signal: '*' };
const MAIN = 'vmtrace';

interface Line {
  readonly n: number;
  readonly tokens: readonly string[];
  /** 1-based column of each token. */
  readonly columns: readonly number[];
}

/**
 * An oracle operation script (`cases/*.ops`, /work/shared/oracle/README.md) as a workload: one
 * process that runs the script's lines in order. `fork-touch` and `fork-begin`..`fork-end` become
 * a forked child, with `post`/`await` giving the order vmtrace uses (the parent looks while the
 * child is alive, then waits for it). `probe` and `dump` read smaps and maps; `set` directives
 * only change vmtrace's printing and are dropped. Nothing is expected of the syscalls: the script
 * records what the kernel answers; the JSONL in `expected/` is the oracle to compare with.
 */
export function loadOpsText(text: string, file: string): Workload {
  const problems: WorkloadProblem[] = [];
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    const content = raw.split('#')[0];
    const tokens: string[] = [];
    const columns: number[] = [];
    for (const m of content.matchAll(/\S+/g)) {
      tokens.push(m[0]);
      columns.push((m.index ?? 0) + 1);
    }
    if (tokens.length > 0) lines.push({ n: i + 1, tokens, columns });
  });

  let forks = 0;
  const main: Op[] = [];
  let child: { ops: Op[]; name: string; line: Line } | null = null;

  for (const line of lines) {
    const [name, ...args] = line.tokens;
    const at = `${file}:${line.n}:${line.columns[0]}`;
    const problem = (arg: number, message: string) =>
      problems.push({
        file,
        line: line.n,
        column: line.columns[Math.min(arg + 1, line.columns.length - 1)],
        path: arg < 0 ? name : `${name}.${ARG_NAMES[name]?.[arg] ?? `arg${arg + 1}`}`,
        message,
      });
    function arg<T>(i: number, parse: (raw: unknown) => Parsed<T>, fallback: T): T {
      if (args[i] === undefined) {
        problem(-1, `missing ${ARG_NAMES[name]?.[i] ?? `argument ${i + 1}`}`);
        return fallback;
      }
      const parsed = parse(args[i]);
      if (parsed.ok) return parsed.value;
      problem(i, parsed.message);
      return fallback;
    }
    const addr = (i: number) => arg(i, parseAddr, 0);
    const size = (i: number) => arg(i, parseNumber, 0);
    const u64 = (i: number) => arg(i, parseU64Arg, 0);
    const rw = (i: number): 'read' | 'write' => {
      if (args[i] === 'r') return 'read';
      if (args[i] === 'w') return 'write';
      problem(i, `expected r or w, got ${args[i] === undefined ? 'nothing' : `"${args[i]}"`}`);
      return 'read';
    };
    const maxArgs = (n: number) => {
      if (args.length > n) problem(n, `unexpected argument "${args[n]}" (${name} takes at most ${n})`);
    };
    const out = child ? child.ops : main;

    switch (name) {
      case 'mmap': {
        maxArgs(6);
        const hasFile = args[4] !== undefined && args[4] !== '-';
        out.push({
          op: 'mmap',
          at,
          addr: addr(0),
          length: u64(1),
          prot: arg(2, parseProt, 0),
          flags: arg(3, parseMmapFlags, 0),
          fd: hasFile ? args[4] : null,
          offset: args[5] === undefined ? 0 : u64(5),
          expect: ANY_RESULT,
        });
        break;
      }
      case 'munmap':
      case 'mlock':
      case 'munlock':
      case 'mseal':
        maxArgs(2);
        out.push({ op: name, at, addr: addr(0), length: u64(1), expect: ANY_RESULT });
        break;
      case 'mprotect':
        maxArgs(3);
        out.push({
          op: 'mprotect',
          at,
          addr: addr(0),
          length: u64(1),
          prot: arg(2, parseProt, 0),
          expect: ANY_RESULT,
        });
        break;
      case 'mremap':
        maxArgs(5);
        out.push({
          op: 'mremap',
          at,
          addr: addr(0),
          oldLength: u64(1),
          newLength: u64(2),
          flags: arg(3, parseMremapFlags, 0),
          newAddr: args[4] === undefined ? 0 : addr(4),
          expect: ANY_RESULT,
        });
        break;
      case 'madvise':
        maxArgs(3);
        out.push({
          op: 'madvise',
          at,
          addr: addr(0),
          length: u64(1),
          advice: arg(2, parseAdvice, 0),
          expect: ANY_RESULT,
        });
        break;
      case 'touch':
      case 'fork-touch': {
        maxArgs(4);
        const touch: Op = {
          op: 'touch',
          at,
          addr: addr(0),
          length: size(1),
          kind: rw(2),
          value: args[3] === undefined ? 1 : byte(arg(3, parseNumber, 1), () => problem(3, 'must be 0..255')),
          stride: 4096,
          expect: ANY_SIGNAL,
        };
        if (name === 'touch') {
          out.push(touch);
          break;
        }
        if (child) {
          problem(-1, 'fork-touch inside a fork-begin block is not supported (blocks are not nested)');
          break;
        }
        const c = `child${++forks}`;
        main.push(
          {
            op: 'fork',
            at,
            child: {
              name: c,
              ops: [
                touch,
                { op: 'proc', at, file: 'smaps' },
                { op: 'post', at, event: `${c}-looked` },
                { op: 'await', at, event: `${c}-may-exit` },
              ],
            },
          },
          { op: 'await', at, event: `${c}-looked` },
          { op: 'proc', at, file: 'smaps' },
          { op: 'post', at, event: `${c}-may-exit` },
          { op: 'wait', at, child: c },
        );
        break;
      }
      case 'probe':
        if (args.length !== 0 && args.length !== 2) problem(-1, 'probe takes no argument or ADDR LEN');
        out.push({ op: 'proc', at, file: 'smaps' });
        break;
      case 'dump':
        maxArgs(0);
        out.push({ op: 'proc', at, file: 'maps' });
        break;
      case 'file':
      case 'memfd': {
        maxArgs(name === 'file' ? 3 : 2);
        if (args[0] === undefined || !/^[A-Za-z0-9_.-]+$/.test(args[0]))
          problem(0, 'a NAME of letters, digits, _ . -');
        if (args[2] !== undefined && args[2] !== 'ro') problem(2, `expected ro, got "${args[2]}"`);
        out.push({
          op: name,
          at,
          name: args[0] ?? '',
          size: size(1),
          readOnly: args[2] === 'ro',
          expect: ANY_RESULT,
        });
        break;
      }
      case 'truncate':
        maxArgs(2);
        out.push({ op: 'truncate', at, name: args[0] ?? '', size: size(1), expect: ANY_RESULT });
        break;
      case 'set':
        if (args[0] !== 'maps' || (args[1] !== 'on' && args[1] !== 'off'))
          problem(0, 'expected "set maps on" or "set maps off"');
        break;
      case 'fork-begin':
        maxArgs(0);
        if (child) problem(-1, `fork-begin blocks are not nested (one is open since line ${child.line.n})`);
        else child = { ops: [], name: `child${++forks}`, line };
        break;
      case 'fork-end':
        maxArgs(0);
        if (!child) {
          problem(-1, 'fork-end without fork-begin');
          break;
        }
        main.push(
          {
            op: 'fork',
            at: `${file}:${child.line.n}:${child.line.columns[0]}`,
            child: { name: child.name, ops: child.ops },
          },
          { op: 'wait', at, child: child.name },
        );
        child = null;
        break;
      default:
        problem(-1, `unknown operation "${name}" (see the oracle README for the list)`);
    }
  }
  if (child) {
    const l = (child as { line: Line }).line;
    problems.push({
      file,
      line: l.n,
      column: l.columns[0],
      path: 'fork-begin',
      message: 'fork-begin without fork-end',
    });
  }
  if (problems.length > 0) throw new WorkloadError(problems);
  const base = file.split('/').pop() ?? file;
  return {
    name: base.replace(/\.ops$/, ''),
    description: `oracle script ${base}`,
    seed: DEFAULT_SEED,
    machine: DEFAULT_MACHINE,
    modules: [],
    processes: [{ name: MAIN, ops: main }],
    final: [],
    source: file,
  };
}

const ARG_NAMES: Readonly<Record<string, readonly string[]>> = {
  mmap: ['ADDR', 'LEN', 'PROT', 'FLAGS', 'FILE', 'OFFSET'],
  munmap: ['ADDR', 'LEN'],
  mlock: ['ADDR', 'LEN'],
  munlock: ['ADDR', 'LEN'],
  mseal: ['ADDR', 'LEN'],
  mprotect: ['ADDR', 'LEN', 'PROT'],
  mremap: ['OLD', 'OLDLEN', 'NEWLEN', 'FLAGS', 'NEWADDR'],
  madvise: ['ADDR', 'LEN', 'ADVICE'],
  touch: ['ADDR', 'LEN', 'MODE', 'VALUE'],
  'fork-touch': ['ADDR', 'LEN', 'MODE', 'VALUE'],
  probe: ['ADDR', 'LEN'],
  file: ['NAME', 'SIZE', 'MODE'],
  memfd: ['NAME', 'SIZE'],
  truncate: ['NAME', 'SIZE'],
  set: ['WHAT', 'VALUE'],
};

/** Script numbers are `0x` hex or decimal, no suffix, no sign (the README), up to 2^64 - 1. */
function parseU64Arg(raw: unknown): Parsed<number | bigint> {
  const text = String(raw);
  if (!/^0x[0-9a-fA-F]+$|^[0-9]+$/.test(text))
    return { ok: false, message: `"${text}" is not a number (0x hex or decimal)` };
  const big = BigInt(text);
  if (big >= 1n << 64n) return { ok: false, message: `${text} does not fit in 64 bits` };
  // lengths near 2^64 exist to test wrap-around: they stay exact as bigints
  return { ok: true, value: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big };
}

/** A number the replay itself uses (touch lengths, file sizes): at most 2^53. */
function parseNumber(raw: unknown): Parsed<number> {
  const r = parseU64Arg(raw);
  if (!r.ok) return r;
  return typeof r.value === 'number'
    ? { ok: true, value: r.value }
    : { ok: false, message: `${String(raw)} is larger than 2^53` };
}

function byte(v: number, bad: () => void): number {
  if (v > 255) bad();
  return v & 0xff;
}
