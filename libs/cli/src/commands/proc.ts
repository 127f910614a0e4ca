import { credentials } from '@grpc/grpc-js';
import { InvalidArgumentError, type Command } from 'commander';
import { MmuProcFile, MmuServiceClient, PageAllocatorServiceClient, ProcFile } from '@pagemesh/proto';
import { promisifyUnary } from '@pagemesh/service-kit';
import { DEFAULT_BASE_PORT } from '../stack/service-table';
import { parseIntOption, stackAddresses, type CommandIo } from './common';

/** The /proc files a running stack serves, and which service owns each. */
const FILES = {
  buddyinfo: { service: 'page-allocator', file: ProcFile.PROC_FILE_BUDDYINFO },
  meminfo: { service: 'page-allocator', file: ProcFile.PROC_FILE_MEMINFO },
  zoneinfo: { service: 'page-allocator', file: ProcFile.PROC_FILE_ZONEINFO },
  slabinfo: { service: 'page-allocator', file: ProcFile.PROC_FILE_SLABINFO },
  vmallocinfo: { service: 'mmu', file: MmuProcFile.MMU_PROC_FILE_VMALLOCINFO },
} as const;

type FileName = keyof typeof FILES;

function parseFile(value: string): FileName {
  const name = value.replace(/^\/proc\//, '');
  if (!(name in FILES)) {
    throw new InvalidArgumentError(
      `expected one of ${Object.keys(FILES).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return name as FileName;
}

interface ProcOptions {
  basePort: number;
  host: string;
  addresses?: string;
  json?: boolean;
}

/** `pagemesh proc meminfo`: a /proc file of a running stack, as Linux prints it. */
export function registerProc(program: Command, io: CommandIo): void {
  program
    .command('proc')
    .description(`print a /proc file of a running stack: ${Object.keys(FILES).join(', ')}`)
    .argument('<file>', 'the file, with or without /proc/', parseFile)
    .option(
      '--base-port <port>',
      'gRPC port of page-allocator; the others follow',
      parseIntOption,
      DEFAULT_BASE_PORT,
    )
    .option('--host <host>', 'host of the services', '127.0.0.1')
    .option('--addresses <list>', 'explicit addresses: name=host:port,...')
    .option('--json', 'print {"file", "text"} as JSON')
    .action(async (file: FileName, options: ProcOptions) => {
      const addresses = stackAddresses(options);
      const spec = FILES[file];
      let text: string;
      if (spec.service === 'mmu') {
        const client = new MmuServiceClient(addresses.mmu, credentials.createInsecure());
        text = (await promisifyUnary(client, 'readProcFile')({ file: spec.file })).text;
        client.close();
      } else {
        const client = new PageAllocatorServiceClient(
          addresses['page-allocator'],
          credentials.createInsecure(),
        );
        text = (await promisifyUnary(client, 'readProcFile')({ file: spec.file })).text;
        client.close();
      }
      if (options.json) io.out(JSON.stringify({ file: `/proc/${file}`, text }));
      else io.out(text.replace(/\n$/, ''));
    });
}
