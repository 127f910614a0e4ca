/** x86 page geometry (arch/x86/include/asm/page_types.h). */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

/** PAGE_ALIGN: round up to the next page boundary (include/linux/mm.h). Exact for any JS-safe integer. */
export function pageAlign(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

/** offset_in_page */
export function offsetInPage(x: number): number {
  return x % PAGE_SIZE;
}

export function isPageAligned(x: number): boolean {
  return x % PAGE_SIZE === 0;
}
