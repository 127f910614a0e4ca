import { loadWorkloadData } from '../workload/load-workload';
import type { Workload } from '../workload/model';
import type { BuiltinWorkload } from './builtin';
import { buddyFragmentation } from './buddy-fragmentation';
import { demandPaging } from './demand-paging';
import { forkCow } from './fork-cow';
import { labMmap } from './lab-mmap';
import { mallocChurn } from './malloc-churn';
import { mixed } from './mixed';

export type { BuiltinWorkload } from './builtin';

/** The workloads `pagemesh replay --list` shows, in that order. */
export const BUILTIN_WORKLOADS: readonly BuiltinWorkload[] = [
  labMmap,
  demandPaging,
  forkCow,
  buddyFragmentation,
  mallocChurn,
  mixed,
];

/** Names and descriptions of the built-in workloads. */
export function listBuiltinWorkloads(): { name: string; description: string }[] {
  return BUILTIN_WORKLOADS.map(({ name, description }) => ({ name, description }));
}

/** A built-in workload, loaded and checked like a file; null for an unknown name. */
export function builtinWorkload(name: string): Workload | null {
  const b = BUILTIN_WORKLOADS.find((w) => w.name === name);
  if (!b) return null;
  return { ...loadWorkloadData(b.data, `builtin:${b.name}`), description: b.description };
}
