import type { CliIo } from '../commands/common';

/** A CliIo that keeps what a command prints, for tests of runCli. */
export function captureIo(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (l) => lines.push(l),
    progress: () => undefined,
    error: (l) => errors.push(l),
  };
}
