import type { StackFactory } from '../ports';
import type { RunReport } from '../report/model';
import type { Workload } from '../workload/model';
import { runWorkload, type RunOptions } from './engine';

/** Boot a stack for the workload's machine, replay the workload on it, and close the stack (also on failure). */
export async function replayWorkload(
  workload: Workload,
  boot: StackFactory,
  options: RunOptions = {},
): Promise<RunReport> {
  const stack = await boot(workload.machine);
  try {
    return await runWorkload(workload, stack, options);
  } finally {
    await stack.close();
  }
}
