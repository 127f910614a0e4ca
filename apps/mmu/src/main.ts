import { runServiceMain } from '@pagemesh/service-kit';
import { buildMmuService, CALLS } from './service';

void runServiceMain('mmu', (config) => buildMmuService(config), {
  extraFlags: CALLS.map((c) => `${c}-address`),
});
