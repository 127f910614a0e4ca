/**
 * Facts of the Linux ABI that every layer shares. No logic that belongs to a subsystem.
 */
export { ERRNO, errnoName, isErrno } from './errno';
export type { Errno } from './errno';
export { PAGE_SHIFT, PAGE_SIZE, pageAlign, offsetInPage, isPageAligned } from './page';
export { VA48_LIMIT, isCanonical, va48FromCanonical, canonicalFromVa48, formatVa48 } from './address';
