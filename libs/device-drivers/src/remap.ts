import { PAGE_SIZE, pageAlign, type Errno } from '@pagemesh/uapi';

import { InvalidArgumentError } from './errors';
import type { RemapMmuPort } from './ports';
import type { DriverVma, RemapRequest } from './vm';

/** The outcome of a driver's remap calls on one VMA. */
export interface RemapOutcome {
  /** null when every call succeeded; else the first call's errno (mmap fails with it). */
  readonly errno: Errno | null;
  /** vm_flags after the calls (VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP added on success). */
  readonly vmFlags: number;
  /** vm_pgoff after the calls (the first PFN for a COW mapping). */
  readonly vmPgoff: number;
  /** How many calls succeeded (all of them on success; undone on failure). */
  readonly applied: number;
  /** Pages left mapped: the VMA's populated pages on success, 0 on failure. */
  readonly mappedPages: number;
}

/**
 * Applies a driver's remap requests in call order through remap_pfn_range, threading the VMA's
 * flags and pgoff from one call to the next as the kernel's VMA would carry them. At the first
 * refused call it stops, zaps every page the earlier calls mapped (as mmap's failure path unmaps
 * the VMA) and returns that errno. A typed error from the mmu (a call the kernel would BUG on)
 * is rethrown after the same undo.
 */
export async function applyRemapRequests(
  mmu: RemapMmuPort,
  asid: number,
  vma: DriverVma,
  requests: readonly RemapRequest[],
): Promise<RemapOutcome> {
  if (!Array.isArray(requests))
    throw new InvalidArgumentError('requests', typeof requests, 'must be an array');
  let flags = vma.vmFlags;
  let pgoff = vma.vmPgoff;
  const done: { addr: number; pages: number }[] = [];
  const undo = async (): Promise<void> => {
    for (const d of done.reverse()) await mmu.unmapPages(asid, d.addr, d.pages);
  };
  for (const r of requests) {
    let result;
    try {
      result = await mmu.remapPfnRange(
        asid,
        { start: vma.vmStart, end: vma.vmEnd, flags, pgoff },
        r.addr,
        r.pfn,
        r.size,
        r.pgprot,
      );
    } catch (e) {
      await undo();
      throw e;
    }
    if (result.errno !== null) {
      const applied = done.length;
      await undo();
      return {
        errno: result.errno,
        vmFlags: result.vmFlags,
        vmPgoff: result.vmPgoff,
        applied,
        mappedPages: 0,
      };
    }
    flags = result.vmFlags;
    pgoff = result.vmPgoff;
    done.push({ addr: r.addr, pages: pageAlign(r.size) / PAGE_SIZE });
  }
  const mappedPages = done.reduce((n, d) => n + d.pages, 0);
  return { errno: null, vmFlags: flags, vmPgoff: pgoff, applied: done.length, mappedPages };
}
