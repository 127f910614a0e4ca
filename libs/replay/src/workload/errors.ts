/** One problem in a workload file, located as precisely as the file allows. */
export interface WorkloadProblem {
  readonly file: string;
  /** 1-based; 0 when the place has no position (a built-in object). */
  readonly line: number;
  readonly column: number;
  /** The field, as `processes[0].ops[3].mmap.length`; empty for the whole document. */
  readonly path: string;
  readonly message: string;
}

/** `file:line:column: path: message`, the form editors and CI logs link to. */
export function formatProblem(p: WorkloadProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Thrown when a workload file cannot be read as a workload: syntax, schema or meaning. */
export class WorkloadError extends Error {
  constructor(public readonly problems: readonly WorkloadProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'WorkloadError';
  }
}
