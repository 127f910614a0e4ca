/** A workload shipped with pagemesh: its data in the workload file format, and what it shows. */
export interface BuiltinWorkload {
  readonly name: string;
  readonly description: string;
  readonly data: Readonly<Record<string, unknown>>;
}
