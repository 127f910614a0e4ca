/**
 * /proc entries that drivers create (proc_create / remove_proc_entry) and their seq_file reads.
 * A driver that needs process state receives it with the read: the caller (the vma-manager) sends
 * the current process's comm and VMAs, so this layer never calls up.
 */
import type { Errno } from '@pagemesh/uapi';

import { InvalidArgumentError } from './errors';

/** TASK_COMM_LEN (include/linux/sched.h): comm holds at most 15 characters and a NUL. */
export const TASK_COMM_LEN = 16;

/** The state of `current` a proc show function may read. */
export interface ProcContext {
  readonly pid?: number;
  readonly comm: string;
  /** The process's VMAs (va48 [start, end)), in address order. */
  readonly vmas: readonly { readonly start: number; readonly end: number }[];
}

/** A show function: the text of the entry, with printk lines to the kernel log. */
export type ProcShow = (ctx: ProcContext, printk: (line: string) => void) => string;

interface ProcEntry {
  readonly name: string;
  readonly owner: string;
  readonly show: ProcShow;
}

export class ProcEntries {
  private readonly entries = new Map<string, ProcEntry>();

  /**
   * proc_create(name, 0, NULL, ops) at the /proc root. A name already registered makes
   * proc_register warn and proc_create return NULL: false here.
   */
  create(name: string, owner: string, show: ProcShow): boolean {
    if (this.entries.has(name)) return false;
    this.entries.set(name, { name, owner, show });
    return true;
  }

  /** remove_proc_entry(name, NULL); a name that is not there is ignored (the kernel WARNs). */
  remove(name: string): void {
    this.entries.delete(name);
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * open + seq_read + release of /proc/<name>: the bytes from `pos`, at most `count`. ENOENT when
   * there is no such entry.
   */
  read(
    name: string,
    ctx: ProcContext,
    printk: (line: string) => void,
    count = Infinity,
    pos = 0,
  ): { readonly text: string } | { readonly errno: Errno } {
    checkContext(ctx);
    if (
      !(count >= 0) ||
      !(pos >= 0) ||
      (count !== Infinity && !Number.isInteger(count)) ||
      !Number.isInteger(pos)
    )
      throw new InvalidArgumentError('count', { count, pos }, 'count and pos must be non-negative integers');
    const e = this.entries.get(name);
    if (!e) return { errno: 'ENOENT' };
    const text = e.show({ ...ctx, comm: ctx.comm.slice(0, TASK_COMM_LEN - 1) }, printk);
    return { text: text.slice(pos, pos + count) };
  }
}

function checkContext(ctx: ProcContext): void {
  if (typeof ctx !== 'object' || ctx === null || typeof ctx.comm !== 'string' || !Array.isArray(ctx.vmas))
    throw new InvalidArgumentError('ctx', typeof ctx, 'must be { comm: string, vmas: [{ start, end }] }');
  for (const v of ctx.vmas) {
    if (!Number.isSafeInteger(v.start) || !Number.isSafeInteger(v.end) || v.start < 0 || v.end <= v.start)
      throw new InvalidArgumentError('ctx.vmas', v, 'each VMA must have integer 0 <= start < end');
  }
}

/**
 * The lab's show function (kmmap.c/vmmap.c my_seq_show): pr_info("%lx %lx\n") per VMA, then
 * seq_printf("%lu %s\n", total, current->comm) with total the sum of the VMAs' sizes.
 */
export function labProcShow(ctx: ProcContext, printk: (line: string) => void): string {
  let total = 0;
  for (const v of ctx.vmas) {
    printk(`${v.start.toString(16)} ${v.end.toString(16)}`);
    total += v.end - v.start;
  }
  return `${total} ${ctx.comm}\n`;
}
