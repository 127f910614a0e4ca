/**
 * Replays an operation script against a fresh model process and prints what src/vmtrace.c
 * prints, byte for byte: one JSON object per op, keys in vmtrace's order, dev/inode normalised.
 */
import { Machine, ORACLE_MACHINE, type MachineConfig } from '../machine';
import type { SyscallResult } from '../mman';
import { MREMAP_FIXED, MREMAP_MAYMOVE } from '../mman';
import type { U64 } from '../u64';
import type { Syscall } from '../tasks/syscall';
import { parseOps, type ScriptLine } from './ops-parser';
import {
  PortsTarget,
  UnsupportedOpError,
  VmaOnlyTarget,
  type MapsLine,
  type Target,
  type TouchResult,
} from './page-state';
import { MmProcess } from '../process';
import { PageStateUnavailableError } from '../errors';
import { inprocMmuPort, inprocPagesPort } from '../inproc-ports';
import { bootMachine } from '@pagemesh/page-allocator';
import { Mmu, inprocPageAllocatorPort as mmuPageTablesPort } from '@pagemesh/mmu';

/** The reserved window every script stays in (vmtrace REGION_START / REGION_END). */
export const REGION_START = 0x7e00_0000_0000;
export const REGION_END = 0x7e80_0000_0000;
const PG = 4096n;
const MASK64 = (1n << 64n) - 1n;

/** Thrown where vmtrace would refuse the script (exit 3): a range leaving the region, mmap at 0. */
export class ScriptRefusedError extends Error {
  constructor(
    public readonly line: number,
    detail: string,
  ) {
    super(`line ${line}: ${detail}`);
    this.name = 'ScriptRefusedError';
  }
}

/** Ops the model cannot run yet, and why. */
export function unsupportedReason(script: readonly ScriptLine[]): string | null {
  for (const s of script) {
    const o = s.op;
    switch (o.kind) {
      case 'file':
      case 'memfd':
      case 'truncate':
        return `line ${s.line}: '${o.kind}' needs files, which the model does not have yet`;
      case 'mmap':
        if (o.file !== null) return `line ${s.line}: file mapping of '${o.file}' needs files`;
        break;
    }
  }
  return null;
}

/** sb_json_str: escape `"` and `\`, control characters as \u00XX, everything else verbatim. */
export function jsonStr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + s[i];
    else if (c < 0x20) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[i];
  }
  return out + '"';
}

function big(v: U64): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

const LINE_RE = /^([0-9a-f]+)-([0-9a-f]+) (\S{1,7}) ([0-9a-f]+) (\S{1,15}) (\d+)(.*)$/;

export interface RunOptions {
  readonly machine?: MachineConfig;
  /**
   * 'inproc' (default): page tables and pages from the real mmu and page-allocator, in process;
   * 'none': the VMA model alone (cases that need page state are unsupported).
   */
  readonly pages?: 'inproc' | 'none';
  /**
   * A fresh process somewhere else (the vma-manager service): each case gets one, and it exits
   * when the case ends. Takes precedence over `pages` and `machine` (the process's machine is
   * where it lives).
   */
  readonly newTarget?: () => Promise<Target>;
}

/** A fresh process: over a freshly booted page allocator and mmu, or the VMA model alone. */
async function newTarget(opts: RunOptions): Promise<Target> {
  const machine = opts.machine ?? ORACLE_MACHINE;
  if (opts.newTarget) return opts.newTarget();
  if (opts.pages === 'none') return new VmaOnlyTarget(machine);
  const pa = bootMachine({ arch: 'x86_64', memBytes: machine.totalRamPages * 4096 });
  const mmu = await Mmu.boot(mmuPageTablesPort(pa), { cpus: 1 });
  const asid = await mmu.createAddressSpace();
  const proc = new MmProcess(new Machine(machine), asid, {
    mmu: inprocMmuPort(mmu),
    pages: inprocPagesPort(pa),
  });
  return new PortsTarget(proc);
}

export interface RunResult {
  /** the JSON lines, without newlines */
  readonly lines: string[];
  readonly unsupported: string | null;
}

/** One model process replaying one script. */
class Replay {
  private readonly inos = new Map<string, number>();
  private mapsOn = true;
  /** inside fork-begin ... fork-end: the parent and its maps setting, while the child runs */
  private parent: { target: Target; mapsOn: boolean } | null = null;
  /** processes forked and not exited yet, the first one included */
  readonly live = new Set<Target>();

  constructor(private target: Target) {
    this.live.add(target);
  }

  private async fork(t: Target, line: number): Promise<Target> {
    const child = await t.fork(line);
    this.live.add(child);
    return child;
  }

  private async exit(t: Target): Promise<void> {
    this.live.delete(t);
    await t.exit();
  }

  /** normalise_line: dev → DEV, inode → INO<k> by first appearance, re-padded. */
  private normalise(raw: string): string {
    const m = LINE_RE.exec(raw);
    if (!m) return raw;
    const [, s, e, perms, off, dev, ino, rest] = m;
    const name = rest.replace(/^ +/, '');
    let devs = dev;
    let inos = ino;
    if (ino !== '0') {
      const key = `${dev} ${ino}`;
      let k = this.inos.get(key);
      if (k === undefined) {
        k = this.inos.size + 1;
        this.inos.set(key, k);
      }
      devs = 'DEV';
      inos = `INO${k}`;
    }
    const h = (x: string) =>
      BigInt('0x' + x)
        .toString(16)
        .padStart(8, '0');
    let line = `${h(s)}-${h(e)} ${perms} ${h(off)} ${devs} ${inos} `;
    if (name) line = line.padEnd(72, ' ') + ' ' + name;
    return line;
  }

  /** The maps lines of the VMAs that end above the region's start and start below its end. */
  private async regionVmas(): Promise<MapsLine[]> {
    return (await this.target.maps()).filter((v) => v.end > REGION_START && v.start < REGION_END);
  }

  private mapsJson(vmas: readonly MapsLine[]): string {
    return '[' + vmas.map((v) => jsonStr(this.normalise(v.text))).join(',') + ']';
  }

  private async state(forceMaps = false): Promise<string> {
    const vmas = await this.regionVmas();
    let o = `,"vma_count":${vmas.length}`;
    if (this.mapsOn || forceMaps) o += ',"maps":' + this.mapsJson(vmas);
    return o;
  }

  /** emit_res for [a, a+len) */
  private async res(a: U64, len: U64): Promise<string> {
    const A = big(a);
    const L = big(len);
    let first = A / PG;
    let last = ((A + L + PG - 1n) & MASK64) / PG;
    const wraps = A + L > MASK64;
    if (L === 0n || wraps) first = last = 0n;
    const r = await this.target.residency(Number(first), Number(last));
    let o =
      `{"pages":${last - first},"present":${r.present},"swapped":${r.swapped},"file_shared":${r.fileShared},` +
      `"exclusive":${r.exclusive},"guard":${r.guard},`;
    o +=
      r.present && r.distinctPfn === null ? '"distinct_pfn":null,' : `"distinct_pfn":${r.distinctPfn ?? 0},`;
    let lo = A;
    let hi = (A + L) & MASK64;
    if (L === 0n || hi < lo) {
      lo = BigInt(REGION_START);
      hi = BigInt(REGION_END);
    }
    const vmas = (await this.regionVmas()).filter(
      (v) => v.start >= REGION_START && v.end <= REGION_END && BigInt(v.end) > lo && BigInt(v.start) < hi,
    );
    const entries: string[] = [];
    for (const e of await this.target.smapsOf(vmas)) {
      const s = e.stats;
      entries.push(
        `{"vma":"${e.start.toString(16)}-${e.end.toString(16)}","Size":${e.size},"Rss":${s.rss},"Pss":${s.pss},` +
          `"Shared_Clean":${s.sharedClean},"Shared_Dirty":${s.sharedDirty},"Private_Clean":${s.privateClean},` +
          `"Private_Dirty":${s.privateDirty},"Referenced":${s.referenced},"Anonymous":${s.anonymous},` +
          `"LazyFree":${s.lazyFree},"AnonHugePages":${s.anonHugePages},"Swap":${s.swap},"Locked":${e.locked},` +
          `"VmFlags":${jsonStr(e.vmFlags)}}`,
      );
    }
    return o + '"smaps":[' + entries.join(',') + ']}';
  }

  /** guard_range: vmtrace refuses ranges that leave the region, but lets wrapping ones through. */
  private guard(a: U64, len: U64, line: number): void {
    const A = big(a);
    const L = big(len);
    const alen = (L + PG - 1n) & MASK64 & ~(PG - 1n);
    if (alen < L || A + alen > MASK64) return;
    if (A < BigInt(REGION_START) || A + alen > BigInt(REGION_END)) {
      throw new ScriptRefusedError(
        line,
        `range 0x${A.toString(16)}+0x${L.toString(16)} leaves the reserved region`,
      );
    }
  }

  private static touchJson(t: TouchResult): string {
    let o = `{"pages":${t.pages},"done":${t.done},`;
    o += t.signal
      ? `"signal":"${t.signal}","fault_page":${t.faultPage},`
      : '"signal":null,"fault_page":null,';
    o += `"minflt":${t.minflt},"majflt":0`;
    if (t.values) {
      const keys = [...t.values.keys()].sort((x, y) => x - y);
      o += ',"values":{' + keys.map((k) => `"${k}":${t.values?.get(k)}`).join(',') + '}';
    }
    return o + '}';
  }

  private static intRet(r: SyscallResult): string {
    return 'errno' in r ? `"ret":-1,"errno":${jsonStr(r.errno)}` : `"ret":${r.ret},"errno":null`;
  }

  private static addrRet(r: SyscallResult): string {
    if ('errno' in r) return `"ret":-1,"errno":${jsonStr(r.errno)}`;
    if (r.ret >= REGION_START && r.ret < REGION_END) return `"ret":"0x${r.ret.toString(16)}","errno":null`;
    return '"ret":"outside-region","errno":null';
  }

  async run(script: readonly ScriptLine[]): Promise<string[]> {
    const out: string[] = [];
    let n = 0;
    for (const s of script) {
      const o = s.op;
      if (o.kind === 'set-maps') {
        this.mapsOn = o.on;
        continue;
      }
      n += 1;
      let line = `{"n":${n},"op":${jsonStr(s.text)},`;
      const t = this.target;
      const call = (c: Syscall) => t.syscall(s.line, c);
      switch (o.kind) {
        case 'mmap': {
          this.guard(o.addr, o.len, s.line);
          if (big(o.addr) === 0n) throw new ScriptRefusedError(s.line, 'mmap address 0 not allowed');
          line += Replay.addrRet(
            await call({
              kind: 'mmap',
              addr: o.addr,
              length: o.len,
              prot: o.prot,
              flags: o.flags,
              fd: -1,
              offset: o.offset,
            }),
          );
          break;
        }
        case 'munmap':
          this.guard(o.addr, o.len, s.line);
          line += Replay.intRet(await call({ kind: 'munmap', addr: o.addr, length: o.len }));
          break;
        case 'mprotect':
          this.guard(o.addr, o.len, s.line);
          line += Replay.intRet(await call({ kind: 'mprotect', addr: o.addr, length: o.len, prot: o.prot }));
          break;
        case 'mremap':
          this.guard(o.addr, o.oldLen, s.line);
          if (o.flags & MREMAP_FIXED || o.hasNewAddr) this.guard(o.newAddr, o.newLen, s.line);
          else if (!(o.flags & MREMAP_MAYMOVE)) this.guard(o.addr, o.newLen, s.line);
          line += Replay.addrRet(
            await call({
              kind: 'mremap',
              oldAddr: o.addr,
              oldLength: o.oldLen,
              newLength: o.newLen,
              flags: o.flags,
              newAddr: o.newAddr,
            }),
          );
          break;
        case 'madvise':
        case 'mlock':
        case 'munlock':
        case 'mseal': {
          this.guard(o.addr, o.len, s.line);
          const r = await call(
            o.kind === 'madvise'
              ? { kind: 'madvise', addr: o.addr, length: o.len, advice: o.advice }
              : { kind: o.kind, addr: o.addr, length: o.len },
          );
          line += Replay.intRet(r) + (await this.state()) + ',"res":' + (await this.res(o.addr, o.len));
          out.push(line + '}');
          continue;
        }
        case 'probe': {
          const a = o.addr ?? REGION_START;
          const len = o.len ?? 0;
          if (o.addr !== null) this.guard(a, len, s.line);
          line += '"ret":0,"errno":null' + (await this.state()) + ',"res":' + (await this.res(a, len));
          out.push(line + '}');
          continue;
        }
        case 'touch': {
          this.guard(o.addr, o.len, s.line);
          if (big(o.addr) % PG !== 0n)
            throw new ScriptRefusedError(s.line, 'touch address must be page aligned');
          const tr = await t.touch(s.line, Number(o.addr), Number(o.len), o.write, o.value);
          line += '"ret":0,"errno":null,"touch":' + Replay.touchJson(tr) + (await this.state());
          line += ',"res":' + (await this.res(o.addr, o.len));
          out.push(line + '}');
          continue;
        }
        case 'fork-touch': {
          this.guard(o.addr, o.len, s.line);
          if (big(o.addr) % PG !== 0n)
            throw new ScriptRefusedError(s.line, 'touch address must be page aligned');
          const child = await this.fork(t, s.line);
          const parentTarget = this.target;
          this.target = child;
          const tr = await child.touch(s.line, Number(o.addr), Number(o.len), o.write, o.value);
          let c = '{"touch":' + Replay.touchJson(tr) + ',"res":' + (await this.res(o.addr, o.len));
          const cv = await this.regionVmas();
          c += `,"vma_count":${cv.length},"maps":${this.mapsJson(cv)}}`;
          this.target = parentTarget;
          line += '"ret":0,"errno":null,"child":' + c + ',"parent_during":' + (await this.res(o.addr, o.len));
          await this.exit(child);
          parentTarget.forget();
          line += ',"child_exit":0' + (await this.state()) + ',"res":' + (await this.res(o.addr, o.len));
          out.push(line + '}');
          continue;
        }
        case 'fork-begin': {
          const child = await this.fork(t, s.line);
          this.parent = { target: this.target, mapsOn: this.mapsOn };
          this.target = child;
          line += '"ret":0,"errno":null' + (await this.state());
          out.push(line + '}');
          continue;
        }
        case 'fork-end': {
          const p = this.parent;
          if (!p) throw new ScriptRefusedError(s.line, 'fork-end without fork-begin');
          await this.exit(this.target);
          this.target = p.target;
          this.target.forget();
          this.mapsOn = p.mapsOn;
          this.parent = null;
          line = `{"n":${n},"op":"fork-end","ret":0,"errno":null,"child_exit":0` + (await this.state());
          out.push(line + '}');
          continue;
        }
        case 'dump':
          line += '"ret":0,"errno":null' + (await this.state(true));
          out.push(line + '}');
          continue;
        default:
          throw new UnsupportedOpError(`line ${s.line}: '${o.kind}' is not supported by the model yet`);
      }
      out.push(line + (await this.state()) + '}');
    }
    return out;
  }
}

/** Runs one script text on a fresh model process. */
export async function runScript(text: string, opts: RunOptions = {}): Promise<RunResult> {
  const script = parseOps(text);
  const why = unsupportedReason(script);
  if (why) return { lines: [], unsupported: why };
  let replay: Replay | null = null;
  let lines: string[];
  try {
    replay = new Replay(await newTarget(opts));
    lines = await replay.run(script);
  } catch (e) {
    // the case's error is the one to report, whatever the exits say
    if (opts.newTarget && replay) await exitAll(replay).catch(() => undefined);
    if (e instanceof UnsupportedOpError) return { lines: [], unsupported: e.reason };
    if (e instanceof PageStateUnavailableError) return { lines: [], unsupported: e.message };
    throw e;
  }
  if (opts.newTarget) await exitAll(replay);
  return { lines, unsupported: null };
}

/**
 * On shared services a case's processes must give back what they hold: the first one, and a
 * child too if the case stopped inside a fork block.
 */
async function exitAll(replay: Replay): Promise<void> {
  for (const t of [...replay.live]) await t.exit();
}
