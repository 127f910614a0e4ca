import type { Op, Workload } from '../workload/model';

/** Work units of a list of ops run once: one per syscall or other op, one per access. */
function opsUnits(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) {
    switch (op.op) {
      case 'touch':
        n += Math.ceil(op.length / op.stride);
        break;
      case 'pattern':
        n += op.count;
        break;
      case 'repeat':
        n += op.times * opsUnits(op.ops);
        break;
      case 'fork':
        n += 1 + opsUnits(op.child.ops);
        break;
      case 'expect':
        n += op.what.kind === 'bytes' ? op.what.pages : 1;
        break;
      default:
        n += 1;
    }
  }
  return n;
}

/** The progress bar's total: an estimate (a process killed early does less). */
export function countUnits(workload: Workload): number {
  return workload.processes.reduce((n, p) => n + opsUnits(p.ops), 0);
}
