import { formatVa48 } from '@pagemesh/uapi';
import type { PageAllocatorPort, VmaManagerPort } from '../ports';
import type { Addr, Expectation, TextExpect } from '../workload/model';
import type { ExpectationResult } from '../report/model';
import { parseBuddyinfo, parseFields, parseMaps, textLines } from './proc-text';
import type { Task } from './task';

/** A failed or passed check, with what was seen. */
export function result(at: string, what: string, ok: boolean, detail: string): ExpectationResult {
  return { at, what, ok, detail };
}

/** Check lines of a text against equals / contains / matches. */
export function checkText(text: string, expect: TextExpect): { ok: boolean; detail: string } {
  const lines = textLines(text);
  if (expect.equals) {
    const want = expect.equals;
    const first = want.findIndex((l, i) => lines[i] !== l);
    if (first >= 0 || lines.length !== want.length) {
      const i = first >= 0 ? first : Math.min(lines.length, want.length);
      return {
        ok: false,
        detail: `line ${i + 1}: expected ${JSON.stringify(want[i] ?? '(end)')}, got ${JSON.stringify(lines[i] ?? '(end)')}`,
      };
    }
  }
  if (expect.count !== undefined && lines.length !== expect.count)
    return { ok: false, detail: `${lines.length} lines, expected ${expect.count}: ${JSON.stringify(lines)}` };
  for (const line of expect.contains ?? [])
    if (!lines.includes(line))
      return { ok: false, detail: `no line ${JSON.stringify(line)} in ${JSON.stringify(lines)}` };
  for (const re of expect.matches ?? [])
    if (!lines.some((l) => new RegExp(re).test(l)))
      return { ok: false, detail: `no line matches /${re}/ in ${JSON.stringify(lines)}` };
  return { ok: true, detail: `${lines.length} lines` };
}

/** `0x7e0000000000`, `$buf`, `$buf+0x3000` */
export function formatAddr(a: Addr): string {
  if (typeof a === 'number') return formatVa48(a);
  return a.offset === 0 ? `$${a.var}` : `$${a.var}+0x${a.offset.toString(16)}`;
}

/** A short description of an expectation for the report. */
export function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case 'maps':
      return 'maps';
    case 'proc':
      return `proc ${e.file}`;
    case 'bytes':
      return `bytes ${e.hex} at ${formatAddr(e.addr)}${e.pages > 1 ? ` on ${e.pages} pages` : ''}`;
    case 'delta':
      return `($${e.to} - $${e.from}) >> ${e.shift} == ${e.equals}`;
    case 'counters':
      return `counters ${Object.entries(e.values)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`;
    case 'page':
      return `page at ${formatAddr(e.addr)}`;
    case 'buddyinfo':
      return e.sameAs
        ? `buddyinfo same as ${e.sameAs}`
        : e.differentFrom
          ? `buddyinfo differs from ${e.differentFrom}`
          : `buddyinfo ${e.zone} order ${e.order} ${e.equals !== undefined ? `== ${e.equals}` : `>= ${e.atLeast}`}`;
    case 'meminfo':
      return `meminfo ${[...Object.keys(e.values), ...e.fields].join(' ')}`;
  }
}

export function checkBuddyinfo(
  e: Extract<Expectation, { kind: 'buddyinfo' }>,
  text: string,
  snapshots: ReadonlyMap<string, { buddyinfo: string }>,
): { ok: boolean; detail: string } {
  if (e.sameAs !== undefined) {
    const other = snapshots.get(e.sameAs);
    if (!other) return { ok: false, detail: `no snapshot "${e.sameAs}" was taken before this check` };
    if (other.buddyinfo !== text)
      return { ok: false, detail: `now:\n${text}\n${e.sameAs}:\n${other.buddyinfo}` };
  }
  if (e.differentFrom !== undefined) {
    const other = snapshots.get(e.differentFrom);
    if (!other) return { ok: false, detail: `no snapshot "${e.differentFrom}" was taken before this check` };
    if (other.buddyinfo === text)
      return { ok: false, detail: `unchanged since ${e.differentFrom}:\n${text}` };
  }
  if (e.zone !== undefined && e.order !== undefined) {
    const zone = parseBuddyinfo(text).find((z) => z.zone === e.zone);
    if (!zone) return { ok: false, detail: `no zone ${e.zone} in:\n${text}` };
    const n = zone.free[e.order] ?? 0;
    if (e.equals !== undefined && n !== e.equals)
      return { ok: false, detail: `${n} free order-${e.order} blocks` };
    if (e.atLeast !== undefined && n < e.atLeast)
      return { ok: false, detail: `${n} free order-${e.order} blocks` };
    return { ok: true, detail: `${n} free order-${e.order} blocks in ${e.zone}` };
  }
  return { ok: true, detail: text.split('\n').filter(Boolean).join('; ') };
}

export function checkMeminfo(
  e: Extract<Expectation, { kind: 'meminfo' }>,
  text: string,
  snapshots: ReadonlyMap<string, { meminfo: string }>,
): { ok: boolean; detail: string } {
  const now = parseFields(text);
  const bad: string[] = [];
  for (const [field, want] of Object.entries(e.values)) {
    const got = now.get(field);
    if (got !== want) bad.push(`${field} ${got ?? 'missing'} kB, expected ${want}`);
  }
  if (e.sameAs !== undefined) {
    const other = snapshots.get(e.sameAs);
    if (!other) return { ok: false, detail: `no snapshot "${e.sameAs}" was taken before this check` };
    const then = parseFields(other.meminfo);
    for (const field of e.fields) {
      if (now.get(field) !== then.get(field))
        bad.push(
          `${field} ${now.get(field) ?? 'missing'} kB, ${then.get(field) ?? 'missing'} kB at ${e.sameAs}`,
        );
    }
  }
  return bad.length ? { ok: false, detail: bad.join('; ') } : { ok: true, detail: 'as expected' };
}

/** What a process-level check needs from the engine. */
export interface CheckContext {
  readonly vma: VmaManagerPort;
  readonly pages: PageAllocatorPort;
  readonly vars: ReadonlyMap<string, number>;
  readonly resolve: (addr: Addr) => number;
}

/** A standalone check of a process: maps, proc, delta, counters, page (bytes run as accesses). */
export async function checkProcess(
  e: Expectation,
  task: Task,
  at: string,
  ctx: CheckContext,
): Promise<{ ok: boolean; detail: string }> {
  switch (e.kind) {
    case 'maps':
    case 'proc': {
      const file = e.kind === 'maps' ? 'maps' : e.file;
      const text = await ctx.vma.proc(task.pid, file);
      if (text !== null && file === 'maps') task.noteMaps(parseMaps(text), at);
      return text === null ? { ok: false, detail: `no file ${file}` } : checkText(text, e.text);
    }
    case 'delta': {
      const from = ctx.vars.get(e.from);
      const to = ctx.vars.get(e.to);
      if (from === undefined || to === undefined)
        return { ok: false, detail: `$${from === undefined ? e.from : e.to} has no value` };
      const value = Math.floor((to - from) / 2 ** e.shift);
      if (e.label !== undefined)
        task.output.push(
          e.label.includes('%d') ? e.label.replace('%d', String(value)) : `${e.label}${value}`,
        );
      return { ok: value === e.equals, detail: `${value}` };
    }
    case 'counters': {
      const status = parseFields((await ctx.vma.proc(task.pid, 'status')) ?? '');
      const bad: string[] = [];
      for (const [key, want] of Object.entries(e.values)) {
        const got =
          key === 'faults' || key === 'minflt'
            ? task.faults
            : key.startsWith('faults.')
              ? (task.faultTypes.get(key.slice(7)) ?? 0)
              : key === 'signals'
                ? task.signals.length
                : key === 'accesses'
                  ? task.accesses
                  : status.get(key);
        if (got !== want) bad.push(`${key} ${got ?? 'missing'}, expected ${want}`);
      }
      return bad.length ? { ok: false, detail: bad.join('; ') } : { ok: true, detail: 'as expected' };
    }
    case 'page': {
      const va = ctx.resolve(e.addr);
      const [entry] = await ctx.vma.pagemap(task.pid, va, 1);
      const present = entry?.present === true && entry.pfn !== null;
      const bad: string[] = [];
      if (e.present !== undefined && present !== e.present) bad.push(present ? 'present' : 'not present');
      if (present) {
        const pfn = entry.pfn as number;
        if (e.refcount !== undefined || e.mapcount !== undefined) {
          const [frame] = await ctx.pages.frames([pfn]);
          if (e.refcount !== undefined && frame.refcount !== e.refcount)
            bad.push(`refcount ${frame.refcount}, expected ${e.refcount}`);
          if (e.mapcount !== undefined && frame.mapcount !== e.mapcount)
            bad.push(`mapcount ${frame.mapcount}, expected ${e.mapcount}`);
        }
        if (e.sameAs !== undefined && ctx.vars.get(e.sameAs) !== pfn)
          bad.push(`pfn ${pfn}, $${e.sameAs} is ${ctx.vars.get(e.sameAs)}`);
        if (e.differentFrom !== undefined && ctx.vars.get(e.differentFrom) === pfn)
          bad.push(`pfn ${pfn} is $${e.differentFrom}`);
      } else if (e.refcount !== undefined || e.mapcount !== undefined || e.sameAs || e.differentFrom) {
        bad.push('no page mapped');
      }
      return bad.length
        ? { ok: false, detail: bad.join('; ') }
        : { ok: true, detail: present ? `pfn ${entry.pfn}` : 'not present' };
    }
    case 'bytes':
      throw new Error('bytes expectations run as accesses');
    default:
      throw new Error(`${e.kind} is a machine check`);
  }
}
