/**
 * compare.py, reproduced: project each JSONL record onto the fields of a tier, then diff field by
 * field (dict keys in the expected record's order first, lists by length then item).
 */
export type Tier = 1 | 2 | 3;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const TIER1 = ['n', 'op', 'ret', 'errno', 'vma_count', 'maps'];
const TOUCH2 = ['pages', 'done', 'signal', 'fault_page', 'values'];
const RES2 = ['pages', 'present'];
const SMAPS2 = ['vma', 'Size', 'Rss', 'Anonymous'];

const LINE_RE = /^([0-9a-f]+-[0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\S+) ?(.*)$/;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** compare.py Normaliser: raw dev/inode → DEV INO<k> by first appearance. */
class Normaliser {
  private readonly inos = new Map<string, number>();

  line(s: Json): Json {
    if (typeof s !== 'string') return s;
    const m = LINE_RE.exec(s);
    if (!m) return s;
    const [, rng, perms, off, dev, ino, rawName] = m;
    if (ino === '0' || ino.startsWith('INO')) return s;
    const key = `${dev}\u0000${ino}`;
    if (!this.inos.has(key)) this.inos.set(key, this.inos.size + 1);
    let head = `${rng} ${perms} ${off} DEV INO${this.inos.get(key)} `;
    const name = rawName.replace(/^ +/, '');
    if (name) head = head.padEnd(72, ' ') + ' ' + name;
    return head;
  }

  lines(x: Json): Json {
    return Array.isArray(x) ? x.map((l) => this.line(l)) : x;
  }
}

function pick(d: Json, keys: string[]): Json {
  if (!isObj(d)) return d;
  const o: Obj = {};
  for (const k of keys) o[k] = k in d ? d[k] : '<missing>';
  return o;
}

function projectRes(r: Json): Json {
  if (!isObj(r)) return r;
  const o = pick(r, RES2) as Obj;
  const smaps = Array.isArray(r.smaps) ? r.smaps : [];
  o.smaps = smaps.map((s) => pick(s, SMAPS2));
  return o;
}

/** compare.py project(): the fields compared at `tier`. */
function project(rec: Obj, tier: Tier, norm: Normaliser): Obj {
  if (tier >= 3) {
    const out: Obj = { ...rec };
    if ('maps' in out) out.maps = norm.lines(out.maps);
    if (isObj(out.child) && 'maps' in out.child)
      out.child = { ...out.child, maps: norm.lines(out.child.maps) };
    return out;
  }
  const out: Obj = {};
  for (const k of TIER1) if (k in rec) out[k] = rec[k];
  if ('maps' in out) out.maps = norm.lines(out.maps);
  if (tier >= 2) {
    if ('touch' in rec) out.touch = pick(rec.touch, TOUCH2);
    if ('res' in rec) out.res = projectRes(rec.res);
    if ('parent_during' in rec) out.parent_during = projectRes(rec.parent_during);
  }
  if ('child' in rec) {
    const c = rec.child;
    if (isObj(c)) {
      const oc: Obj = {
        vma_count: c.vma_count ?? null,
        maps: norm.lines(Array.isArray(c.maps) ? c.maps : []),
      };
      if (tier >= 2) {
        oc.touch = pick(isObj(c.touch) ? c.touch : {}, TOUCH2);
        const r = isObj(c.res) ? c.res : {};
        const ores = pick(r, RES2) as Obj;
        ores.smaps = (Array.isArray(r.smaps) ? r.smaps : []).map((s) => pick(s, SMAPS2));
        oc.res = ores;
      }
      out.child = oc;
    } else {
      out.child = c;
    }
  }
  return out;
}

/** One difference: where, what the kernel printed, what the model printed. */
export interface Difference {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/** Python equality for JSON values (True == 1, 1 == 1.0). */
function scalarEq(a: Json, b: Json): boolean {
  const num = (x: Json) => (typeof x === 'boolean' ? Number(x) : x);
  return num(a) === num(b);
}

function* diff(a: Json, b: Json, path: string): Generator<Difference> {
  if (isObj(a) && isObj(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const k of keys) {
      if (!(k in a)) yield { path: `${path}.${k}`, expected: '<absent>', actual: b[k] };
      else if (!(k in b)) yield { path: `${path}.${k}`, expected: a[k], actual: '<absent>' };
      else yield* diff(a[k], b[k], `${path}.${k}`);
    }
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) yield { path: `${path} (length)`, expected: a.length, actual: b.length };
    for (let i = 0; i < Math.min(a.length, b.length); i++) yield* diff(a[i], b[i], `${path}[${i}]`);
  } else if (isObj(a) || isObj(b) || Array.isArray(a) || Array.isArray(b)) {
    yield { path, expected: a, actual: b };
  } else if (!scalarEq(a, b)) {
    yield { path, expected: a, actual: b };
  }
}

function parseLines(text: string): Obj[] {
  return text
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Obj);
}

/**
 * compare_file: the differences between the kernel's JSONL and the model's at `tier`. By default
 * only the first one, as compare.py prints it; `all` gives every one.
 */
export function compareJsonl(
  expectedText: string,
  actualText: string,
  tier: Tier = 2,
  all = false,
): Difference[] {
  const exp = parseLines(expectedText);
  const act = parseLines(actualText);
  const ne = new Normaliser();
  const na = new Normaliser();
  const problems: Difference[] = [];
  if (exp.length !== act.length) {
    problems.push({ path: '(number of lines)', expected: exp.length, actual: act.length });
  }
  for (let i = 0; i < Math.min(exp.length, act.length); i++) {
    const e = exp[i];
    const pe = project(e, tier, ne);
    const pa = project(act[i], tier, na);
    for (const d of diff(pe, pa, '')) {
      problems.push({ ...d, path: `op ${JSON.stringify(e.n ?? null)} \`${String(e.op)}\`: ${d.path}` });
      if (!all) break;
    }
    if (problems.length && !all) break;
  }
  return problems;
}
