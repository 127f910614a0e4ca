/**
 * Facts of the Linux ABI that every layer shares, and the shape of a request a layer refuses.
 * No logic that belongs to a subsystem.
 */
export { ERRNO, errnoName, isErrno } from './errno';
export type { Errno } from './errno';
export { PAGE_SHIFT, PAGE_SIZE, pageAlign, offsetInPage, isPageAligned } from './page';
export { VA48_LIMIT, isCanonical, va48FromCanonical, canonicalFromVa48, formatVa48 } from './address';
export { RequestError, InvariantViolationError, formatRequestValue } from './request-error';
export type { RequestErrorKind } from './request-error';
