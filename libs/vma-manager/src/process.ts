/**
 * An address space whose page tables follow its VMAs: each syscall runs on the (synchronous)
 * VMA model, then the page-table work it queued is sent to the mmu and the page allocator
 * through the ports, in batches.
 */
import type { Machine } from './machine';
import { MmStruct, type PageTableOp } from './mm-struct';
import type { SyscallResult } from './mman';
import type { U64 } from './u64';
import type { MmuPort, PageAllocatorPort, VaRange } from './ports';
import { PageStateUnavailableError } from './errors';
import { mmap } from './mmap';
import { munmap } from './munmap';
import { mprotect } from './mprotect';
import { mremap } from './mremap';
import { madvise } from './madvise';
import { mlock, munlock } from './mlock';
import { mseal } from './mseal';
import { VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, hasAny } from './vm-flags';

export interface MmPorts {
  readonly mmu: MmuPort;
  readonly pages: PageAllocatorPort;
}

export class MmProcess {
  readonly mm: MmStruct;

  constructor(
    machine: Machine,
    /** the address space's id at the mmu */
    public readonly asid: number,
    private readonly ports: MmPorts,
    mmapBase?: number,
  ) {
    this.mm = new MmStruct(machine, mmapBase);
    this.mm.pageOps = [];
  }

  async mmap(
    addr: U64,
    len: U64,
    prot: number,
    flags: number,
    fd = -1,
    offset: U64 = 0,
  ): Promise<SyscallResult> {
    return this.settle(mmap(this.mm, addr, len, prot, flags, fd, offset));
  }

  async munmap(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(munmap(this.mm, addr, len));
  }

  async mprotect(addr: U64, len: U64, prot: number): Promise<SyscallResult> {
    return this.settle(mprotect(this.mm, addr, len, prot));
  }

  async mremap(addr: U64, oldLen: U64, newLen: U64, flags: number, newAddr: U64 = 0): Promise<SyscallResult> {
    return this.settle(mremap(this.mm, addr, oldLen, newLen, flags, newAddr));
  }

  async madvise(addr: U64, len: U64, advice: number): Promise<SyscallResult> {
    return this.settle(madvise(this.mm, addr, len, advice));
  }

  async mlock(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(mlock(this.mm, addr, len));
  }

  async munlock(addr: U64, len: U64): Promise<SyscallResult> {
    return this.settle(munlock(this.mm, addr, len));
  }

  async mseal(addr: U64, len: U64, flags: number | bigint = 0): Promise<SyscallResult> {
    return this.settle(mseal(this.mm, addr, len, flags));
  }

  /** Sends the queued page-table work, then gives the syscall's result. */
  private async settle(r: SyscallResult): Promise<SyscallResult> {
    const ops = this.mm.pageOps ?? [];
    this.mm.pageOps = [];
    await this.apply(ops);
    return r;
  }

  /** Applies the ops in order, batching runs of the same kind into one port call. */
  private async apply(ops: readonly PageTableOp[]): Promise<void> {
    let i = 0;
    while (i < ops.length) {
      const kind = ops[i].kind;
      let j = i;
      while (j < ops.length && ops[j].kind === kind) j++;
      const run = ops.slice(i, j);
      switch (kind) {
        case 'unmap':
          await this.unmap(run.map((o) => o as Extract<PageTableOp, { kind: 'unmap' }>));
          break;
        case 'protect':
          await this.ports.mmu.changeProtection(
            this.asid,
            run.map((o) => {
              const p = o as Extract<PageTableOp, { kind: 'protect' }>;
              return {
                range: { start: p.start, end: p.end },
                readable: hasAny(p.vmFlags, VM_READ),
                writable: hasAny(p.vmFlags, VM_WRITE),
                executable: hasAny(p.vmFlags, VM_EXEC),
                copyOnWrite: !hasAny(p.vmFlags, VM_SHARED),
              };
            }),
          );
          break;
        case 'move':
          for (const o of run) await this.move(o as Extract<PageTableOp, { kind: 'move' }>);
          break;
        default:
          // Faulting pages in, MADV_FREE and guard markers need the page-fault path.
          throw new PageStateUnavailableError(kind);
      }
      i = j;
    }
  }

  /** zap: clear the PTEs, then drop the references the mappings held. */
  private async unmap(ops: readonly { start: number; end: number }[]): Promise<void> {
    const ranges: VaRange[] = ops.map((o) => ({ start: o.start, end: o.end }));
    const { removed } = await this.ports.mmu.unmapRanges(this.asid, ranges);
    if (removed.length) await this.ports.pages.putPages(removed.map((p) => p.pfn));
  }

  /** move_page_tables: the pages keep their references and PTE bits at their new address. */
  private async move(o: { from: number; to: number; len: number }): Promise<void> {
    const { removed } = await this.ports.mmu.unmapRanges(this.asid, [{ start: o.from, end: o.from + o.len }]);
    if (!removed.length) return;
    const vma = this.mm.vmas.lookup(o.to);
    const executable = vma ? hasAny(vma.vmFlags, VM_EXEC) : false;
    await this.ports.mmu.mapPages(
      this.asid,
      removed.map((p) => ({
        va: o.to + (p.va - o.from),
        pfn: p.pfn,
        writable: p.writable,
        executable,
        dirty: p.dirty,
      })),
    );
  }
}
