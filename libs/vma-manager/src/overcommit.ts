import type { Machine } from './machine';

/**
 * __vm_enough_memory (mm/util.c): charge `pages` to vm_committed_as, or refuse.
 *
 * Mode 0 (heuristic, OVERCOMMIT_GUESS): a single charge fails only if it alone exceeds
 * totalram_pages + total_swap_pages. Mode 1 always succeeds. Mode 2 compares the new total with
 * the commit limit (ratio of RAM + swap).
 */
export function vmEnoughMemory(machine: Machine, pages: number): boolean {
  const c = machine.config;
  machine.committedPages += pages;
  if (c.overcommitMemory === 1) return true;
  if (c.overcommitMemory === 0) {
    if (pages <= c.totalRamPages + c.totalSwapPages) return true;
  } else {
    const limit = Math.floor((c.totalRamPages * c.overcommitRatio) / 100) + c.totalSwapPages;
    if (machine.committedPages <= limit) return true;
  }
  machine.committedPages -= pages;
  return false;
}

/** vm_unacct_memory */
export function vmUnacctMemory(machine: Machine, pages: number): void {
  machine.committedPages -= pages;
}
