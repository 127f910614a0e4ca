import { PAGE_SHIFT, PAGE_SIZE } from '@pagemesh/uapi';
import { InvalidArgumentError } from './errors';

/** MAX_PAGE_ORDER (include/linux/mmzone.h, v6.8+; inclusive): largest block 2^10 pages = 4 MiB. */
export const MAX_PAGE_ORDER = 10;
/** NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1: free lists and /proc/buddyinfo columns. */
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** PAGE_ALLOC_COSTLY_ORDER (include/linux/mmzone.h). */
export const PAGE_ALLOC_COSTLY_ORDER = 3;

/** get_order(size): smallest order with PAGE_SIZE << order >= size (include/asm-generic/getorder.h). */
export function getOrder(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArgumentError('size', size, 'must be a non-negative safe integer');
  }
  let order = 0;
  for (let bytes = PAGE_SIZE; bytes < size; bytes *= 2) order++;
  return order;
}

export function validateOrder(order: number, field = 'order'): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
    throw new InvalidArgumentError(
      field,
      order,
      `must be an integer from 0 to MAX_PAGE_ORDER (${MAX_PAGE_ORDER})`,
    );
  }
}

export { PAGE_SHIFT, PAGE_SIZE };
