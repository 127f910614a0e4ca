import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { defaultAddresses, parseAddressList, type ServiceName } from '../stack/service-table';

/** Where the command writes: results to stdout, progress and diagnostics to stderr. */
export interface CliIo {
  out(line: string): void;
  progress(line: string): void;
  error(line: string): void;
  /** A command that reports a failure (a failed case, a service down) without throwing. */
  setExitCode?(code: number): void;
}

/** What a command action sees: the io plus a way to set the exit code. */
export type CommandIo = CliIo & { setExitCode(code: number): void };

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  progress: (line) => process.stderr.write(`${line}\n`),
  error: (line) => process.stderr.write(`${line}\n`),
};

export function parseIntOption(value: string): number {
  if (!/^\d+$/.test(value))
    throw new InvalidArgumentError(`expected a non-negative integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * The build output (dist/) that holds the service bundles: found above the running bundle
 * (dist/cli/main.cjs) or, when running from source in tests, at the repository root.
 */
export function distDir(): string {
  for (let dir = __dirname; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'apps', 'page-allocator', 'main.cjs'))) return dir;
    if (existsSync(join(dir, 'dist', 'apps', 'page-allocator', 'main.cjs'))) return join(dir, 'dist');
  }
  throw new Error('cannot find the service bundles (dist/apps/*/main.cjs): run `npm run build` first');
}

/** The options every command that talks to a running stack takes. */
export interface StackAddressOptions {
  basePort: number;
  host: string;
  addresses?: string;
}

/** Where each service of a running stack is: the default ports from --base-port, overridden by --addresses. */
export function stackAddresses(options: StackAddressOptions): Record<ServiceName, string> {
  const addresses = defaultAddresses(options.host, options.basePort);
  return options.addresses ? parseAddressList(options.addresses, addresses) : addresses;
}
