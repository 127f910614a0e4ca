import type { Command } from 'commander';
import { checkHealth } from '@pagemesh/service-kit';
import { DEFAULT_BASE_PORT, SERVICES, type ServiceName } from '../stack/service-table';
import { renderTable } from '../output/table';
import { parseIntOption, stackAddresses, type CommandIo } from './common';

export interface ServiceHealth {
  name: ServiceName;
  address: string;
  status: string;
}

/** Asks every service of a stack for its health; never throws for a service that is down. */
export async function stackHealth(
  addresses: Record<ServiceName, string>,
  timeoutMs = 2_000,
): Promise<ServiceHealth[]> {
  return Promise.all(
    SERVICES.map(async (s) => ({
      name: s.name,
      address: addresses[s.name],
      status: await checkHealth(addresses[s.name], s.grpcService, timeoutMs),
    })),
  );
}

export function healthTable(health: readonly ServiceHealth[]): string {
  return renderTable(
    ['service', 'address', 'health'],
    health.map((h) => [h.name, h.address, h.status]),
  );
}

interface StatusOptions {
  basePort: number;
  host: string;
  addresses?: string;
  timeoutMs: number;
  json?: boolean;
}

export function registerStatus(program: Command, io: CommandIo): void {
  program
    .command('status')
    .description("show each service's health (grpc.health.v1); exits 1 unless all are SERVING")
    .option(
      '--base-port <port>',
      'gRPC port of page-allocator; the others follow',
      parseIntOption,
      DEFAULT_BASE_PORT,
    )
    .option('--host <host>', 'host of the services', '127.0.0.1')
    .option('--addresses <list>', 'explicit addresses: name=host:port,... (overrides --base-port)')
    .option('--timeout-ms <ms>', 'deadline of each health check', parseIntOption, 2_000)
    .option('--json', 'print JSON instead of a table')
    .action(async (options: StatusOptions) => {
      const addresses = stackAddresses(options);
      const health = await stackHealth(addresses, options.timeoutMs);
      io.out(options.json ? JSON.stringify({ services: health }) : healthTable(health));
      if (health.some((h) => h.status !== 'SERVING')) io.setExitCode(1);
    });
}
