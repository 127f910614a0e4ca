import { ERRNO } from '@pagemesh/uapi';
import { mman } from '@pagemesh/vma-manager';
import { WorkloadError, type WorkloadProblem } from './errors';
import type {
  AccessExpect,
  Addr,
  Expectation,
  MachineSpec,
  Op,
  ProcessSpec,
  SyscallExpect,
  TextExpect,
  Workload,
} from './model';
import {
  parseAddr,
  parseAdvice,
  parseHex,
  parseMmapFlags,
  parseMremapFlags,
  parseProt,
  parseSize,
  parseU64,
  type Parsed,
} from './values';

export type PathSegment = string | number;
/** Where a value sits in the source: the node at `path`, or the key `key` of the map at `path`. */
export type Locate = (path: readonly PathSegment[], key?: string) => { line: number; column: number };

export const DEFAULT_MACHINE: MachineSpec = {
  arch: 'x86_64',
  memory: 64 << 20,
  cpus: 2,
  tlbEntries: 64,
  quantum: 16,
};
export const DEFAULT_SEED = 1;
/** The page allocator boots 16 MiB .. 64 GiB of RAM (libs/page-allocator machine-profile.ts). */
const MIN_MEMORY = 16 * 2 ** 20;
const MAX_MEMORY = 64 * 2 ** 30;

type Obj = Record<string, unknown>;

/** The names a workload saves and uses, checked once every op has been read. */
interface Names {
  saved: Map<string, PathSegment[]>;
  fds: Set<string>;
  pfns: Set<string>;
  snapshots: Set<string>;
  posted: Set<string>;
  processes: Map<string, PathSegment[]>;
  uses: { kind: 'var' | 'fd' | 'pfn' | 'snapshot' | 'event'; name: string; path: PathSegment[] }[];
}

/**
 * Turn schema-valid workload data into the model: parse sizes, addresses, prot and flags, check
 * that every `$variable`, fd, snapshot, event and child a workload uses is defined somewhere.
 * `locate` maps a field's path to a line and column of the source.
 */
export function buildWorkload(data: Obj, file: string, locate: Locate): Workload {
  const problems: WorkloadProblem[] = [];
  const names: Names = {
    saved: new Map(),
    fds: new Set(),
    pfns: new Set(),
    snapshots: new Set(['boot']),
    posted: new Set(),
    processes: new Map(),
    uses: [],
  };
  const fmt = (path: readonly PathSegment[]) =>
    path.reduce<string>((s, seg) => (typeof seg === 'number' ? `${s}[${seg}]` : s ? `${s}.${seg}` : seg), '');
  const problem = (path: readonly PathSegment[], message: string) => {
    const pos = locate(path);
    problems.push({ file, line: pos.line, column: pos.column, path: fmt(path), message });
  };
  const at = (path: readonly PathSegment[]) => {
    const pos = locate(path);
    return pos.line > 0 ? `${file}:${pos.line}:${pos.column}` : `${file}: ${fmt(path)}`;
  };
  function get<T>(parsed: Parsed<T>, path: PathSegment[], fallback: T): T {
    if (parsed.ok) return parsed.value;
    problem(path, parsed.message);
    return fallback;
  }
  const size = (o: Obj, key: string, path: PathSegment[], dflt = 0) =>
    o[key] === undefined ? dflt : get(parseSize(o[key]), [...path, key], 0);
  const u64 = (o: Obj, key: string, path: PathSegment[]) =>
    o[key] === undefined ? 0 : get(parseU64(o[key]), [...path, key], 0);
  const addr = (o: Obj, key: string, path: PathSegment[]): Addr => {
    if (o[key] === undefined) return 0;
    const a = get(parseAddr(o[key]), [...path, key], 0);
    if (typeof a === 'object') names.uses.push({ kind: 'var', name: a.var, path: [...path, key] });
    return a;
  };
  const saveVar = (o: Obj, path: PathSegment[]) => {
    if (typeof o['save'] === 'string') names.saved.set(o['save'], [...path, 'save']);
    return typeof o['save'] === 'string' ? o['save'] : undefined;
  };
  const syscallExpect = (o: Obj, path: PathSegment[]): SyscallExpect | undefined => {
    const e = o['expect'] as Obj | undefined;
    if (!e) return undefined;
    const errno = e['errno'] as string | null | undefined;
    if (typeof errno === 'string' && errno !== '*' && !(errno in ERRNO))
      problem([...path, 'expect', 'errno'], `unknown errno "${errno}"`);
    return { errno, ret: e['ret'] === undefined ? undefined : addr(e, 'ret', [...path, 'expect']) };
  };
  const accessExpect = (o: Obj, path: PathSegment[]): AccessExpect | undefined => {
    const e = o['expect'] as Obj | undefined;
    if (!e) return undefined;
    return {
      signal: e['signal'] as AccessExpect['signal'],
      code: e['code'] as AccessExpect['code'],
      faultIndex: e['faultIndex'] as number | undefined,
      faults: e['faults'] as number | undefined,
      bytes:
        e['bytes'] === undefined ? undefined : get(parseHex(e['bytes']), [...path, 'expect', 'bytes'], ''),
    };
  };
  const text = (o: Obj): TextExpect => ({
    equals: o['equals'] as string[] | undefined,
    contains: o['contains'] as string[] | undefined,
    matches: o['matches'] as string[] | undefined,
    count: o['count'] as number | undefined,
  });

  function expectation(kind: string, e: Obj, path: PathSegment[]): Expectation {
    switch (kind) {
      case 'maps':
        return { kind: 'maps', text: text(e) };
      case 'proc':
        return { kind: 'proc', file: e['file'] as string, text: text(e) };
      case 'bytes':
        return {
          kind: 'bytes',
          addr: addr(e, 'addr', path),
          hex: get(parseHex(e['hex']), [...path, 'hex'], ''),
          pages: (e['pages'] as number | undefined) ?? 1,
        };
      case 'delta':
        names.uses.push({ kind: 'var', name: e['from'] as string, path: [...path, 'from'] });
        names.uses.push({ kind: 'var', name: e['to'] as string, path: [...path, 'to'] });
        return {
          kind: 'delta',
          from: e['from'] as string,
          to: e['to'] as string,
          shift: (e['shift'] as number | undefined) ?? 0,
          equals: e['equals'] as number,
          label: e['label'] as string | undefined,
        };
      case 'counters':
        return { kind: 'counters', values: e as Record<string, number> };
      case 'page':
        for (const k of ['sameAs', 'differentFrom'])
          if (typeof e[k] === 'string')
            names.uses.push({ kind: 'pfn', name: e[k] as string, path: [...path, k] });
        return {
          kind: 'page',
          addr: addr(e, 'addr', path),
          present: e['present'] as boolean | undefined,
          refcount: e['refcount'] as number | undefined,
          mapcount: e['mapcount'] as number | undefined,
          sameAs: e['sameAs'] as string | undefined,
          differentFrom: e['differentFrom'] as string | undefined,
        };
      case 'buddyinfo':
        for (const k of ['sameAs', 'differentFrom'])
          if (typeof e[k] === 'string')
            names.uses.push({ kind: 'snapshot', name: e[k] as string, path: [...path, k] });
        if (
          (e['atLeast'] !== undefined || e['equals'] !== undefined) &&
          (e['zone'] === undefined || e['order'] === undefined)
        )
          problem(path, "'atLeast' and 'equals' need 'zone' and 'order'");
        return { kind: 'buddyinfo', ...(e as object) } as Expectation;
      default: {
        if (typeof e['sameAs'] === 'string')
          names.uses.push({ kind: 'snapshot', name: e['sameAs'], path: [...path, 'sameAs'] });
        if (e['fields'] !== undefined && e['sameAs'] === undefined) problem(path, "'fields' needs 'sameAs'");
        return {
          kind: 'meminfo',
          values: (e['values'] as Record<string, number> | undefined) ?? {},
          sameAs: e['sameAs'] as string | undefined,
          fields: (e['fields'] as string[] | undefined) ?? [],
        };
      }
    }
  }

  function ops(list: unknown[], path: PathSegment[], children: Map<string, PathSegment[]>): Op[] {
    const out: Op[] = [];
    list.forEach((raw, i) => {
      const item = raw as Obj;
      const name = Object.keys(item)[0];
      const p: PathSegment[] = [...path, i, name];
      const o = (typeof item[name] === 'object' && item[name] !== null ? item[name] : {}) as Obj;
      const pos = locate([...path, i], name);
      const site = pos.line > 0 ? `${file}:${pos.line}:${pos.column}` : at(p);
      switch (name) {
        case 'mmap': {
          const fd = (o['fd'] as string | undefined) ?? null;
          if (fd) names.uses.push({ kind: 'fd', name: fd, path: [...p, 'fd'] });
          const flags = get(parseMmapFlags(o['flags']), [...p, 'flags'], 0);
          if (fd === null && !(flags & mman.MAP_ANONYMOUS) && o['flags'] !== undefined)
            problem([...p, 'flags'], "a mapping without 'fd' must be anonymous");
          out.push({
            op: 'mmap',
            at: site,
            addr: addr(o, 'addr', p),
            length: u64(o, 'length', p),
            prot: get(parseProt(o['prot']), [...p, 'prot'], 0),
            flags,
            fd,
            offset: u64(o, 'offset', p),
            save: saveVar(o, p),
            expect: syscallExpect(o, p),
          });
          break;
        }
        case 'munmap':
        case 'mlock':
        case 'munlock':
        case 'mseal':
          out.push({
            op: name,
            at: site,
            addr: addr(o, 'addr', p),
            length: u64(o, 'length', p),
            expect: syscallExpect(o, p),
          });
          break;
        case 'mprotect':
          out.push({
            op: 'mprotect',
            at: site,
            addr: addr(o, 'addr', p),
            length: u64(o, 'length', p),
            prot: get(parseProt(o['prot']), [...p, 'prot'], 0),
            expect: syscallExpect(o, p),
          });
          break;
        case 'mremap':
          out.push({
            op: 'mremap',
            at: site,
            addr: addr(o, 'addr', p),
            oldLength: u64(o, 'oldLength', p),
            newLength: u64(o, 'newLength', p),
            flags: o['flags'] === undefined ? 0 : get(parseMremapFlags(o['flags']), [...p, 'flags'], 0),
            newAddr: addr(o, 'newAddr', p),
            save: saveVar(o, p),
            expect: syscallExpect(o, p),
          });
          break;
        case 'madvise':
          out.push({
            op: 'madvise',
            at: site,
            addr: addr(o, 'addr', p),
            length: u64(o, 'length', p),
            advice: get(parseAdvice(o['advice']), [...p, 'advice'], 0),
            expect: syscallExpect(o, p),
          });
          break;
        case 'open':
          names.fds.add(o['save'] as string);
          out.push({
            op: 'open',
            at: site,
            path: o['path'] as string,
            save: o['save'] as string,
            expect: syscallExpect(o, p),
          });
          break;
        case 'read':
        case 'write':
        case 'close': {
          names.uses.push({ kind: 'fd', name: o['fd'] as string, path: [...p, 'fd'] });
          const fd = o['fd'] as string;
          const expect = syscallExpect(o, p);
          const pattern =
            o['pagePattern'] === undefined
              ? undefined
              : get(parseHex(o['pagePattern']), [...p, 'pagePattern'], '');
          if (name === 'close') out.push({ op: 'close', at: site, fd, expect });
          else if (name === 'read')
            out.push({
              op: 'read',
              at: site,
              fd,
              length: size(o, 'length', p),
              pagePattern: pattern,
              expect,
            });
          else
            out.push({
              op: 'write',
              at: site,
              fd,
              length: size(o, 'length', p),
              pagePattern: pattern ?? '',
              expect,
            });
          break;
        }
        case 'access':
          out.push({
            op: 'access',
            at: site,
            addr: addr(o, 'addr', p),
            kind: o['kind'] as 'read' | 'write' | 'fetch',
            length: (o['length'] as number | undefined) ?? 1,
            data: o['data'] === undefined ? '01' : get(parseHex(o['data']), [...p, 'data'], '01'),
            expect: accessExpect(o, p),
          });
          break;
        case 'touch': {
          const stride = size(o, 'stride', p, 4096);
          if (stride === 0) problem([...p, 'stride'], 'must be at least 1 byte');
          out.push({
            op: 'touch',
            at: site,
            addr: addr(o, 'addr', p),
            length: size(o, 'length', p),
            kind: o['kind'] as 'read' | 'write',
            value: (o['value'] as number | undefined) ?? 1,
            stride: stride || 4096,
            expect: accessExpect(o, p),
          });
          break;
        }
        case 'pattern': {
          const length = size(o, 'length', p);
          if (length === 0) problem([...p, 'length'], 'a pattern needs a non-empty range');
          const stride = size(o, 'stride', p, 4096);
          if (stride === 0) problem([...p, 'stride'], 'must be at least 1 byte');
          out.push({
            op: 'pattern',
            at: site,
            addr: addr(o, 'addr', p),
            length,
            pattern: o['pattern'] as 'sequential',
            count: o['count'] as number,
            stride: stride || 4096,
            theta: (o['theta'] as number | undefined) ?? 0.99,
            writeRatio: (o['writeRatio'] as number | undefined) ?? 0,
            seed: o['seed'] as number | undefined,
            expect: accessExpect(o, p),
          });
          break;
        }
        case 'fork': {
          const child = process(o, p);
          children.set(child.name, p);
          out.push({ op: 'fork', at: site, child, expect: syscallExpect(o, p) });
          break;
        }
        case 'wait':
          if (!children.has(o['child'] as string))
            problem([...p, 'child'], `"${String(o['child'])}" is not a child forked earlier by this process`);
          out.push({
            op: 'wait',
            at: site,
            child: o['child'] as string,
            status: o['status'] as number | undefined,
          });
          break;
        case 'exit':
          out.push({ op: 'exit', at: site, code: (o['code'] as number | undefined) ?? 0 });
          break;
        case 'repeat':
          out.push({
            op: 'repeat',
            at: site,
            times: o['times'] as number,
            ops: ops(o['ops'] as unknown[], [...p, 'ops'], children),
          });
          break;
        case 'post':
          names.posted.add(item[name] as string);
          out.push({ op: 'post', at: site, event: item[name] as string });
          break;
        case 'await':
          names.uses.push({ kind: 'event', name: item[name] as string, path: p });
          out.push({ op: 'await', at: site, event: item[name] as string });
          break;
        case 'proc':
          out.push({ op: 'proc', at: site, file: o['file'] as string, save: saveVar(o, p) });
          break;
        case 'pfn':
          names.pfns.add(o['save'] as string);
          out.push({ op: 'pfn', at: site, addr: addr(o, 'addr', p), save: o['save'] as string });
          break;
        case 'snapshot':
          names.snapshots.add(item[name] as string);
          out.push({ op: 'snapshot', at: site, name: item[name] as string });
          break;
        case 'file':
        case 'memfd':
          names.fds.add(o['name'] as string);
          out.push({
            op: name,
            at: site,
            name: o['name'] as string,
            size: size(o, 'size', p),
            readOnly: o['readOnly'] === true,
            expect: syscallExpect(o, p),
          });
          break;
        case 'truncate':
          names.uses.push({ kind: 'fd', name: o['name'] as string, path: [...p, 'name'] });
          out.push({
            op: 'truncate',
            at: site,
            name: o['name'] as string,
            size: size(o, 'size', p),
            expect: syscallExpect(o, p),
          });
          break;
        case 'mknod':
          out.push({
            op: 'mknod',
            at: site,
            path: o['path'] as string,
            major: o['major'] as number,
            minor: o['minor'] as number,
            expect: syscallExpect(o, p),
          });
          break;
        case 'unlink':
          out.push({ op: 'unlink', at: site, path: o['path'] as string, expect: syscallExpect(o, p) });
          break;
        case 'insmod':
        case 'rmmod':
          out.push({ op: name, at: site, name: item[name] as string });
          break;
        case 'expect':
          // one op per kind, in the order written
          for (const kind of Object.keys(o))
            out.push({
              op: 'expect',
              at: at([...p, kind]),
              what: expectation(kind, o[kind] as Obj, [...p, kind]),
            });
          break;
      }
    });
    return out;
  }

  function process(o: Obj, path: PathSegment[]): ProcessSpec {
    const name = o['name'] as string;
    const prior = names.processes.get(name);
    if (prior) problem([...path, 'name'], `process name "${name}" is already used at ${fmt(prior)}`);
    else names.processes.set(name, [...path, 'name']);
    return { name, ops: ops(o['ops'] as unknown[], [...path, 'ops'], new Map()) };
  }

  const m = (data['machine'] as Obj | undefined) ?? {};
  const machine: MachineSpec = {
    arch: (m['arch'] as MachineSpec['arch'] | undefined) ?? DEFAULT_MACHINE.arch,
    memory: m['memory'] === undefined ? DEFAULT_MACHINE.memory : size(m, 'memory', ['machine']),
    cpus: (m['cpus'] as number | undefined) ?? DEFAULT_MACHINE.cpus,
    tlbEntries: (m['tlbEntries'] as number | undefined) ?? DEFAULT_MACHINE.tlbEntries,
    quantum: (m['quantum'] as number | undefined) ?? DEFAULT_MACHINE.quantum,
  };
  // the mmu's 4 KiB TLB is 4-way with a power-of-two number of sets (libs/mmu tlb.ts)
  const sets = machine.tlbEntries / 4;
  if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0)
    problem(
      ['machine', 'tlbEntries'],
      `${machine.tlbEntries}: must be 4 ways times a power of two (4, 8, 16, ... 64, ...)`,
    );
  if (machine.memory % 4096 !== 0 || machine.memory < MIN_MEMORY || machine.memory > MAX_MEMORY)
    problem(
      ['machine', 'memory'],
      `${machine.memory} bytes: must be a whole number of pages from 16M to 64G`,
    );
  const processes = (data['processes'] as Obj[]).map((p, i) => process(p, ['processes', i]));
  const final: Op[] = [];
  ((data['final'] as Obj[] | undefined) ?? []).forEach((e, i) => {
    for (const kind of Object.keys(e)) {
      const p: PathSegment[] = ['final', i, kind];
      if (kind !== 'buddyinfo' && kind !== 'meminfo')
        problem(p, `only buddyinfo and meminfo can be checked after every process has exited`);
      else final.push({ op: 'expect', at: at(p), what: expectation(kind, e[kind] as Obj, p) });
    }
  });

  for (const use of names.uses) {
    const known =
      use.kind === 'var'
        ? names.saved.has(use.name) || names.pfns.has(use.name)
        : use.kind === 'fd'
          ? names.fds.has(use.name)
          : use.kind === 'pfn'
            ? names.pfns.has(use.name)
            : use.kind === 'snapshot'
              ? names.snapshots.has(use.name)
              : names.posted.has(use.name);
    if (!known) {
      const what = {
        var: `variable $${use.name} is never saved (by a 'save' of mmap, mremap or proc)`,
        fd: `fd "${use.name}" is never opened (an 'open' with save: ${use.name})`,
        pfn: `"${use.name}" is never saved by a 'pfn' op`,
        snapshot: `snapshot "${use.name}" is never taken (a 'snapshot' op; "boot" is automatic)`,
        event: `event "${use.name}" is never posted`,
      }[use.kind];
      problem(use.path, what);
    }
  }
  if (problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new WorkloadError(problems);
  }
  return {
    name: data['name'] as string,
    description: (data['description'] as string | undefined) ?? '',
    seed: (data['seed'] as number | undefined) ?? DEFAULT_SEED,
    machine,
    modules: (data['modules'] as string[] | undefined) ?? [],
    processes,
    final: final as Workload['final'],
    source: file,
  };
}
