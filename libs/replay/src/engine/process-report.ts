import { formatVa48 } from '@pagemesh/uapi';
import type { ProcessReport } from '../report/model';
import type { Task } from './task';

/** What the report says about one process. */
export function processReport(t: Task): ProcessReport {
  return {
    name: t.name,
    pid: t.pid,
    parent: t.parent?.name ?? null,
    exit: t.exitDetail,
    syscalls: [...t.syscallCounts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([call, c]) => ({
        call,
        calls: c.calls,
        errors: Object.fromEntries([...c.errors.entries()].sort()),
      })),
    log: t.log,
    logTruncated: t.logDropped,
    accesses: t.accesses,
    faults: {
      total: t.faults,
      byType: Object.fromEntries([...t.faultTypes.entries()].sort()),
      byCause: Object.fromEntries([...t.faultCauses.entries()].sort()),
    },
    signals: t.signals,
    expectations: t.expectations,
    output: t.output,
    vmasAt: t.vmasAt,
    vmas: t.vmas.map((v) => ({
      start: formatVa48(v.start),
      end: formatVa48(v.end),
      perms: v.perms,
      name: v.name,
    })),
  };
}
