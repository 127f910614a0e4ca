import { readFileSync } from 'node:fs';
import { loadOpsText } from './load-ops';
import { loadWorkloadText } from './load-workload';
import type { Workload } from './model';

/** Load a workload file: `.ops` is an oracle script, anything else YAML or JSON. */
export function loadWorkloadFile(path: string): Workload {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.ops') ? loadOpsText(text, path) : loadWorkloadText(text, path);
}
