/**
 * /proc/PID/stat (fs/proc/array.c do_task_stat): the 52 space-separated fields of one line, as
 * `ps` and getrusage-minded tools read them. The fields this model keeps are real: pid, comm,
 * state, ppid, minflt (ru_minflt, counted by the fault handler), majflt, num_threads, vsize
 * (total_vm in bytes) and rss (pages). Everything the model has no notion of (times, signals,
 * terminals, scheduling, the code and stack addresses of a binary it never loaded) is printed as
 * the kernel prints it for a task with nothing there: 0, with the fixed values of a plain
 * single-threaded process (tpgid -1 without a terminal, priority 20, RLIM_INFINITY).
 */
import type { Task } from './task';

/** tpgid of a task with no controlling terminal */
const NO_TTY_PGRP = -1;
/** task_prio of a SCHED_NORMAL task at nice 0: MAX_RT_PRIO(100) + 20 - MAX_RT_PRIO */
const DEFAULT_PRIORITY = 20;
/** RLIM_INFINITY as the unsigned long rsslim prints it */
const RLIM_INFINITY = '18446744073709551615';
const PAGE_SIZE = 4096;

export function procStat(task: Task): string {
  const mm = task.mm.mm;
  const rss = mm.rss.anon + mm.rss.file + mm.rss.shmem;
  const fields: (string | number)[] = [
    task.pid,
    // proc_task_name without escaping: stat prints comm raw inside the parentheses
    `(${task.comm})`,
    'R',
    task.ppid,
    0, // pgrp
    0, // session
    0, // tty_nr
    NO_TTY_PGRP,
    0, // flags
    task.minflt,
    0, // cminflt: children are never waited for
    0, // majflt: no swap and no files, so no major fault
    0, // cmajflt
    0, // utime
    0, // stime
    0, // cutime
    0, // cstime
    DEFAULT_PRIORITY,
    0, // nice
    1, // num_threads
    0, // itrealvalue
    0, // starttime
    mm.totalVm * PAGE_SIZE,
    rss,
    RLIM_INFINITY,
    0, // startcode
    0, // endcode
    0, // startstack
    0, // kstkesp
    0, // kstkeip
    0, // signal
    0, // blocked
    0, // sigignore
    0, // sigcatch
    0, // wchan
    0, // nswap
    0, // cnswap
    task.exitSignal,
    0, // processor
    0, // rt_priority
    0, // policy
    0, // delayacct_blkio_ticks
    0, // guest_time
    0, // cguest_time
    0, // start_data
    0, // end_data
    0, // start_brk
    0, // arg_start
    0, // arg_end
    0, // env_start
    0, // env_end
    0, // exit_code
  ];
  return `${fields.join(' ')}\n`;
}

/** The field numbers (1-based, as proc(5) numbers them) that a reader of this model may rely on. */
export const STAT_FIELD = {
  pid: 1,
  comm: 2,
  state: 3,
  ppid: 4,
  minflt: 10,
  majflt: 12,
  vsize: 23,
  rss: 24,
} as const;

/**
 * Field `n` (1-based) of a /proc/PID/stat line. comm may hold spaces and parentheses, so the
 * fields after it are counted from the last ')', as procps does.
 */
export function procStatField(text: string, n: number): string {
  const close = text.lastIndexOf(')');
  const open = text.indexOf(' (');
  if (close < 0 || open < 0)
    throw new RangeError(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  if (n === 1) return text.slice(0, open);
  if (n === 2) return text.slice(open + 1, close + 1);
  const rest = text
    .slice(close + 2)
    .trimEnd()
    .split(' ');
  const v = rest[n - 3];
  if (v === undefined) throw new RangeError(`/proc/PID/stat has no field ${n}`);
  return v;
}
