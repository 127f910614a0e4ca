/**
 * A small in-memory machine behind the engine's ports, for the engine's own tests: anonymous
 * private and shared mappings, demand paging with the zero page, fork with COW, a /dev/mymmap
 * device of 16 pages (kmmap-like: EIO above 16 pages), a buddy-free "allocator" that hands out
 * PFNs from a counter. It is not the pagemesh services and proves nothing about them; the real
 * stacks implement the same ports.
 */
import { type Errno, PAGE_SIZE } from '@pagemesh/uapi';
import type {
  AccessBatchResult,
  FaultOutcome,
  FaultRequest,
  PagemapEntry,
  ProcessHandle,
  Stack,
  Syscall,
  SyscallResult,
  UserAccess,
} from '../ports';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;
const MAP_FIXED_NOREPLACE = 0x100000;
const DEV_PAGES = 16;

interface FakeVma {
  start: number;
  end: number;
  prot: number;
  shared: boolean;
  device: boolean;
  /** Has an anon_vma (a page was written): fork copies its PTEs (vma_needs_copy). */
  anon?: boolean;
}
interface Pte {
  pfn: number;
  writable: boolean;
}
interface Frame {
  bytes: Uint8Array;
  refcount: number;
  mapcount: number;
}
interface Proc {
  pid: number;
  asid: number;
  vmas: FakeVma[];
  ptes: Map<number, Pte>;
  fds: Map<number, string>;
  nextFd: number;
}

export interface FakeOptions {
  /** Make the fault handler claim success without mapping anything (a broken handler). */
  readonly brokenHandler?: boolean;
  readonly cpus?: number;
}

export class FakeMachine {
  readonly procs = new Map<number, Proc>();
  readonly frames = new Map<number, Frame>();
  readonly calls: string[] = [];
  readonly faultsHandled: FaultRequest[] = [];
  private nextPid = 100;
  private nextAsid = 1;
  private nextPfn = 1000;
  private readonly freePfns: number[] = [];
  private readonly zeroPfn: number;
  private readonly devPfns: number[] = [];
  private readonly cr3: number[];
  private tlbHits = 0;
  private tlbMisses = 0;
  private module = '';

  constructor(private readonly options: FakeOptions = {}) {
    this.zeroPfn = this.alloc();
    for (let i = 0; i < DEV_PAGES; i++) {
      const pfn = this.alloc();
      this.frames.get(pfn)?.bytes.set([0xaa, 0xbb, 0xcc, 0xdd]);
      this.devPfns.push(pfn);
    }
    this.cr3 = new Array<number>(options.cpus ?? 8).fill(0);
  }

  private alloc(): number {
    const pfn = this.freePfns.length ? (this.freePfns.pop() as number) : this.nextPfn++;
    this.frames.set(pfn, { bytes: new Uint8Array(PAGE_SIZE), refcount: 1, mapcount: 0 });
    return pfn;
  }

  private put(pfn: number): void {
    const f = this.frames.get(pfn);
    if (!f || pfn === this.zeroPfn || this.devPfns.includes(pfn)) return;
    if (--f.refcount === 0) {
      this.frames.delete(pfn);
      this.freePfns.push(pfn);
    }
  }

  private unmapPte(p: Proc, vpage: number): void {
    const pte = p.ptes.get(vpage);
    if (!pte) return;
    p.ptes.delete(vpage);
    const f = this.frames.get(pte.pfn);
    if (f && pte.pfn !== this.zeroPfn && !this.devPfns.includes(pte.pfn)) f.mapcount--;
    this.put(pte.pfn);
  }

  private proc(pid: number): Proc {
    const p = this.procs.get(pid);
    if (!p) throw new Error(`no process ${pid}`);
    return p;
  }

  private newProc(): Proc {
    const p: Proc = {
      pid: this.nextPid++,
      asid: this.nextAsid++,
      vmas: [],
      ptes: new Map(),
      fds: new Map(),
      nextFd: 3,
    };
    this.procs.set(p.pid, p);
    return p;
  }

  private syscall(p: Proc, c: Syscall): SyscallResult {
    const err = (errno: Errno): SyscallResult => ({ errno });
    switch (c.call) {
      case 'mmap': {
        const len = Math.ceil(Number(c.length) / PAGE_SIZE) * PAGE_SIZE;
        if (len === 0) return err('EINVAL');
        const device = c.fd >= 0;
        if (device && p.fds.get(c.fd) !== '/dev/mymmap') return err('EBADF');
        if (!device && !(c.flags & MAP_ANONYMOUS)) return err('EBADF');
        if (device && len > DEV_PAGES * PAGE_SIZE) return err('EIO');
        let start = c.addr;
        const overlaps = (s: number) => p.vmas.some((v) => v.start < s + len && s < v.end);
        if (c.flags & MAP_FIXED_NOREPLACE) {
          if (overlaps(start)) return err('EEXIST');
        } else if (!(c.flags & MAP_FIXED) && (start === 0 || overlaps(start))) {
          start = 0x7f0000000000 - len;
          while (overlaps(start)) start -= PAGE_SIZE;
        } else if (c.flags & MAP_FIXED) this.unmap(p, start, len);
        const vma = { start, end: start + len, prot: c.prot, shared: (c.flags & 3) === MAP_SHARED, device };
        p.vmas.push(vma);
        p.vmas.sort((a, b) => a.start - b.start);
        // kmmap maps with vm_page_prot (read-only here), vmmap with PAGE_SHARED (writable PTEs)
        const writable = this.module === 'vmmap';
        if (device)
          for (let i = 0; i < len / PAGE_SIZE; i++)
            p.ptes.set(start / PAGE_SIZE + i, { pfn: this.devPfns[i], writable });
        return { ret: start };
      }
      case 'munmap':
        this.unmap(p, c.addr, Math.ceil(Number(c.length) / PAGE_SIZE) * PAGE_SIZE);
        return { ret: 0 };
      case 'mprotect': {
        const end = c.addr + Math.ceil(Number(c.length) / PAGE_SIZE) * PAGE_SIZE;
        let covered = 0;
        const out: FakeVma[] = [];
        for (const v of p.vmas) {
          if (v.end <= c.addr || v.start >= end) {
            out.push(v);
            continue;
          }
          if (v.start < c.addr) out.push({ ...v, end: c.addr });
          const mid = { ...v, start: Math.max(v.start, c.addr), end: Math.min(v.end, end), prot: c.prot };
          covered += mid.end - mid.start;
          out.push(mid);
          if (v.end > end) out.push({ ...v, start: end });
        }
        if (covered !== end - c.addr) return err('ENOMEM');
        p.vmas = out;
        for (let a = c.addr; a < end; a += PAGE_SIZE) {
          const pte = p.ptes.get(a / PAGE_SIZE);
          if (pte && !(c.prot & PROT_WRITE)) pte.writable = false;
        }
        return { ret: 0 };
      }
      case 'open':
        if (c.path !== '/dev/mymmap' && c.path !== '/proc/my-proc-entry') return err('ENOENT');
        p.fds.set(p.nextFd, c.path);
        return { ret: p.nextFd++ };
      case 'close':
        return p.fds.delete(c.fd) ? { ret: 0 } : err('EBADF');
      case 'read': {
        if (p.fds.get(c.fd) !== '/dev/mymmap') return err('EBADF');
        const n = Math.min(c.length, DEV_PAGES * PAGE_SIZE);
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i += PAGE_SIZE)
          data.set(
            this.frames.get(this.devPfns[i / PAGE_SIZE])?.bytes.subarray(0, Math.min(PAGE_SIZE, n - i)) ?? [],
            i,
          );
        return { ret: n, data };
      }
      case 'write': {
        if (p.fds.get(c.fd) !== '/dev/mymmap') return err('EBADF');
        const n = Math.min(c.data.length, DEV_PAGES * PAGE_SIZE);
        for (let i = 0; i < DEV_PAGES; i++) this.frames.get(this.devPfns[i])?.bytes.fill(0);
        for (let i = 0; i < n; i += PAGE_SIZE)
          this.frames
            .get(this.devPfns[i / PAGE_SIZE])
            ?.bytes.set(c.data.subarray(i, Math.min(i + PAGE_SIZE, n)));
        return { ret: n };
      }
      default:
        return err('ENOSYS');
    }
  }

  private unmap(p: Proc, start: number, len: number): void {
    const end = start + len;
    const kept: FakeVma[] = [];
    for (const v of p.vmas) {
      if (v.end <= start || v.start >= end) kept.push(v);
      else {
        if (v.start < start) kept.push({ ...v, end: start });
        if (v.end > end) kept.push({ ...v, start: end });
      }
    }
    p.vmas = kept;
    for (let a = start; a < end; a += PAGE_SIZE) this.unmapPte(p, a / PAGE_SIZE);
  }

  private fault(p: Proc, f: FaultRequest): FaultOutcome {
    this.faultsHandled.push(f);
    if (this.options.brokenHandler) return { kind: 'handled', type: 'broken' };
    const v = p.vmas.find((x) => x.start <= f.address && f.address < x.end);
    if (!v) return { kind: 'sigsegv', code: 'SEGV_MAPERR' };
    const write = (f.errorCode & 2) !== 0;
    if (write && !(v.prot & PROT_WRITE)) return { kind: 'sigsegv', code: 'SEGV_ACCERR' };
    if (!write && !(v.prot & (PROT_READ | PROT_WRITE))) return { kind: 'sigsegv', code: 'SEGV_ACCERR' };
    if (v.device) return { kind: 'sigbus', code: 'BUS_ADRERR' };
    const vpage = Math.floor(f.address / PAGE_SIZE);
    const pte = p.ptes.get(vpage);
    if (!pte) {
      if (!write && !v.shared) {
        p.ptes.set(vpage, { pfn: this.zeroPfn, writable: false });
        return { kind: 'handled', type: 'zero-page' };
      }
      const pfn = this.alloc();
      (this.frames.get(pfn) as Frame).mapcount = 1;
      v.anon = true;
      p.ptes.set(vpage, { pfn, writable: (v.prot & PROT_WRITE) !== 0 });
      return { kind: 'handled', type: 'anon' };
    }
    // write to a present read-only page in a writable VMA: COW or reuse (do_wp_page)
    const old = this.frames.get(pte.pfn) as Frame;
    if (pte.pfn !== this.zeroPfn && old.refcount === 1) {
      pte.writable = true;
      return { kind: 'handled', type: 'reuse' };
    }
    const pfn = this.alloc();
    v.anon = true;
    const copy = this.frames.get(pfn) as Frame;
    copy.bytes.set(old.bytes);
    copy.mapcount = 1;
    if (pte.pfn !== this.zeroPfn) old.mapcount--;
    this.put(pte.pfn);
    p.ptes.set(vpage, { pfn, writable: true });
    return { kind: 'handled', type: 'cow' };
  }

  private access(cpu: number, a: UserAccess): { data?: Uint8Array } | { fault: number; address: number } {
    const p = [...this.procs.values()].find((x) => x.asid === this.cr3[cpu]);
    if (!p) throw new Error(`cpu ${cpu} has no address space`);
    const vpage = Math.floor(a.va / PAGE_SIZE);
    const pte = p.ptes.get(vpage);
    const write = a.op === 'write';
    if (!pte) {
      this.tlbMisses++;
      return { fault: 0x4 | (write ? 2 : 0), address: a.va };
    }
    this.tlbHits++;
    if (write && !pte.writable) return { fault: 0x7, address: a.va };
    const frame = this.frames.get(pte.pfn) as Frame;
    const off = a.va % PAGE_SIZE;
    if (write) {
      frame.bytes.set(a.data ?? [1], off);
      return {};
    }
    return { data: frame.bytes.slice(off, off + (a.length ?? 1)) };
  }

  /** The ports over this machine. */
  stack(): Stack {
    return {
      transport: 'fake',
      vma: {
        createProcess: async (comm: string): Promise<ProcessHandle> => {
          this.calls.push(`create ${comm}`);
          const p = this.newProc();
          return { pid: p.pid, asid: p.asid };
        },
        fork: async (parentPid: number) => {
          const parent = this.proc(parentPid);
          const child = this.newProc();
          child.vmas = parent.vmas.map((v) => ({ ...v }));
          child.fds = new Map(parent.fds);
          child.nextFd = parent.nextFd;
          for (const [vpage, pte] of parent.ptes) {
            const v = parent.vmas.find((x) => x.start <= vpage * PAGE_SIZE && vpage * PAGE_SIZE < x.end);
            if (!v || !(v.anon || v.device)) continue;
            if (!v.shared) pte.writable = false;
            child.ptes.set(vpage, { ...pte });
            const f = this.frames.get(pte.pfn) as Frame;
            if (pte.pfn !== this.zeroPfn && !this.devPfns.includes(pte.pfn)) {
              f.refcount++;
              f.mapcount++;
            }
          }
          return { pid: child.pid, asid: child.asid };
        },
        exit: async (pid: number) => {
          this.calls.push(`exit ${pid}`);
          const p = this.proc(pid);
          for (const vpage of [...p.ptes.keys()]) this.unmapPte(p, vpage);
          this.procs.delete(pid);
        },
        syscalls: async (pid: number, calls: readonly Syscall[]) => {
          this.calls.push(`syscalls ${calls.map((c) => c.call).join(',')}`);
          return calls.map((c) => this.syscall(this.proc(pid), c));
        },
        handleFaults: async (pid: number, faults: readonly FaultRequest[]) =>
          faults.map((f) => this.fault(this.proc(pid), f)),
        proc: async (pid: number, file: string) => {
          const p = this.proc(pid);
          if (file === 'maps')
            return p.vmas
              .map((v) => {
                const perms = `${v.prot & 1 ? 'r' : '-'}${v.prot & 2 ? 'w' : '-'}-${v.shared ? 's' : 'p'}`;
                const head = `${v.start.toString(16).padStart(8, '0')}-${v.end.toString(16).padStart(8, '0')} ${perms} 00000000 00:00 0 `;
                return v.device ? `${head.padEnd(73)}/dev/mymmap` : head;
              })
              .map((l) => `${l}\n`)
              .join('');
          if (file === 'status') {
            let anon = 0;
            for (const pte of p.ptes.values())
              if (pte.pfn !== this.zeroPfn && !this.devPfns.includes(pte.pfn)) anon++;
            return `Name:\tfake\nVmRSS:\t${anon * 4} kB\nRssAnon:\t${anon * 4} kB\nRssFile:\t0 kB\n`;
          }
          if (file === 'smaps') return '';
          if (file === '/proc/my-proc-entry')
            return `${p.vmas.reduce((s, v) => s + v.end - v.start, 0)} fake\n`;
          return null;
        },
        pagemap: async (pid: number, va: number, pages: number): Promise<PagemapEntry[]> => {
          const p = this.proc(pid);
          return Array.from({ length: pages }, (_, i) => {
            const pte = p.ptes.get(va / PAGE_SIZE + i);
            return { present: !!pte, pfn: pte ? pte.pfn : null };
          });
        },
      },
      mmu: {
        switchTo: async (cpu: number, asid: number) => {
          this.calls.push(`cr3 ${cpu} ${asid}`);
          this.cr3[cpu] = asid;
        },
        idle: async (cpu: number) => {
          this.calls.push(`idle ${cpu}`);
          this.cr3[cpu] = 0;
        },
        accessBatch: async (cpu: number, accesses: readonly UserAccess[]): Promise<AccessBatchResult> => {
          this.calls.push(`access ${cpu} ${accesses.length}`);
          const done: { data?: Uint8Array }[] = [];
          for (const a of accesses) {
            const r = this.access(cpu, a);
            if ('fault' in r)
              return { done, fault: { kind: 'page-fault', address: r.address, errorCode: r.fault } };
            done.push(r);
          }
          return { done };
        },
        tlbStats: async () => [{ cpu: 0, hits: this.tlbHits, misses: this.tlbMisses }],
        pageTablePages: async () => 1 + [...this.procs.values()].length,
      },
      pages: {
        buddyinfo: async () =>
          `Node 0, zone   Normal ${String(16384 - this.frames.size).padStart(6)}      0      0\n`,
        meminfo: async () => `MemTotal:  65536 kB\nMemFree:  ${65536 - this.frames.size * 4} kB\n`,
        counters: async () => ({
          totalPages: 16384,
          freePages: 16384 - this.frames.size,
          allocationsByOrder: [this.nextPfn - 1000],
          pagesAllocatedByZone: { Normal: this.nextPfn - 1000 },
        }),
        frames: async (pfns: readonly number[]) =>
          pfns.map((pfn) => {
            const f = this.frames.get(pfn);
            return {
              pfn,
              refcount: f?.refcount ?? 0,
              mapcount: f?.mapcount ?? 0,
              state: f ? ('allocated' as const) : ('free' as const),
              zone: 'Normal',
            };
          }),
        memoryMap: async () => ({
          totalPfns: 2048,
          zones: [{ name: 'Normal', startPfn: 0, endPfn: 2048 }],
          runs: [
            { startPfn: 0, count: 1000, state: 'reserved' as const },
            { startPfn: 1000, count: this.nextPfn - 1000, state: 'allocated' as const },
            { startPfn: this.nextPfn, count: 2048 - this.nextPfn, state: 'free' as const },
          ],
        }),
      },
      devices: {
        loadModule: async (name: string) => {
          if (name !== 'kmmap' && name !== 'vmmap') return { errno: 'ENOENT' as const };
          this.module = name;
          for (const pfn of this.devPfns) this.frames.get(pfn)?.bytes.fill(0).set([0xaa, 0xbb, 0xcc, 0xdd]);
          return { ret: 0 };
        },
        unloadModule: async () => ({ ret: 0 }),
        mknod: async () => ({ ret: 0 }),
        unlink: async () => ({ ret: 0 }),
      },
      close: async () => undefined,
    };
  }
}
