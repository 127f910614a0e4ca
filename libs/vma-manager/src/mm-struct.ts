import { AnonVma, type VmFile } from './vma';
import { VmaTree } from './vma-tree';
import type { Machine } from './machine';
import { VM_EXEC, VM_GROWSDOWN, VM_SHARED, VM_WRITE, hasAny, maskFlags } from './vm-flags';

/** TASK_SIZE for a 64-bit x86 task with 4-level paging: (1 << 47) - PAGE_SIZE. */
export const TASK_SIZE = 0x7fff_ffff_f000;
/**
 * mmap_base without randomisation: TASK_SIZE minus the 128 MiB minimum stack gap
 * (arch/x86/mm/mmap.c mmap_base(), gap clamped to [128 MiB, TASK_SIZE/6*5]).
 */
export const DEFAULT_MMAP_BASE = TASK_SIZE - 128 * 1024 * 1024;
/** VM_STACK on x86-64 (no VM_GROWSUP) */
const VM_STACK = VM_GROWSDOWN;

/**
 * What a syscall asks of the page tables once its VMA changes are done. The vma-manager is
 * synchronous inside; a Process drains these and sends them through the mmu / page-allocator
 * ports (ports.ts) in batches, as the kernel's mmu_gather batches TLB work.
 */
export type PageTableOp =
  /** zap the PTEs of [start, end) and drop the pages' references (munmap, DONTNEED, FIXED over a range) */
  | { readonly kind: 'unmap'; readonly start: number; readonly end: number }
  /** change_protection over [start, end) for the VMA's new vm_flags */
  | { readonly kind: 'protect'; readonly start: number; readonly end: number; readonly vmFlags: number }
  /** move_page_tables: the PTEs of [from, from+len) now belong at [to, to+len) */
  | { readonly kind: 'move'; readonly from: number; readonly to: number; readonly len: number }
  /** MADV_FREE: the anonymous pages of [start, end) become clean and lazily freeable */
  | { readonly kind: 'lazyfree'; readonly start: number; readonly end: number }
  /** MADV_GUARD_INSTALL / MADV_GUARD_REMOVE: zap and put guard markers, or clear them */
  | { readonly kind: 'guard'; readonly start: number; readonly end: number; readonly install: boolean }
  /** fault in every page of [start, end) (MAP_POPULATE, mlock, MADV_POPULATE_*) */
  | { readonly kind: 'populate'; readonly start: number; readonly end: number; readonly write: boolean };

/** mm_struct: one address space. */
export class MmStruct {
  readonly vmas = new VmaTree();
  /** total_vm, locked_vm, data_vm, exec_vm, stack_vm (pages), hiwater_vm */
  totalVm = 0;
  lockedVm = 0;
  dataVm = 0;
  execVm = 0;
  stackVm = 0;
  hiwaterVm = 0;
  /** rss_stat: MM_ANONPAGES, MM_FILEPAGES, MM_SHMEMPAGES (maintained by the fault path) */
  readonly rss = { anon: 0, file: 0, shmem: 0 };
  readonly taskSize = TASK_SIZE;
  /**
   * Page-table work queued by syscalls, or null when nobody listens (pure VMA use: benchmarks,
   * property tests). See PageTableOp.
   */
  pageOps: PageTableOp[] | null = null;

  constructor(
    public readonly machine: Machine,
    public readonly mmapBase: number = DEFAULT_MMAP_BASE,
  ) {}

  /** map_count */
  get mapCount(): number {
    return this.vmas.size;
  }

  newAnonVma(): AnonVma {
    return new AnonVma(this.machine.allocAnonVmaId());
  }

  /** shmem_zero_setup: the shmem object behind one shared anonymous mmap. */
  newShmemFile(sizePages: number): VmFile {
    return {
      kind: 'shmem',
      devMajor: 0,
      devMinor: 1,
      ino: this.machine.allocIno(),
      path: '/dev/zero (deleted)',
      sizePages,
    };
  }

  /** vm_stat_account (mm/mmap.c) */
  vmStatAccount(vmFlags: number, npages: number): void {
    this.totalVm += npages;
    if (this.totalVm > this.hiwaterVm) this.hiwaterVm = this.totalVm;
    const f = maskFlags(vmFlags, VM_EXEC | VM_WRITE | VM_STACK | VM_SHARED);
    if ((f & (VM_EXEC | VM_WRITE | VM_STACK)) === VM_EXEC) this.execVm += npages;
    else if (hasAny(f, VM_STACK)) this.stackVm += npages;
    else if ((f & (VM_WRITE | VM_SHARED | VM_STACK)) === VM_WRITE) this.dataVm += npages;
  }

  pushPageOp(op: PageTableOp): void {
    if (this.pageOps) this.pageOps.push(op);
  }
}
