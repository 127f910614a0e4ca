import { runServiceMain } from '@pagemesh/service-kit';
import { buildPageAllocatorService, CALLS } from './service';

void runServiceMain('page-allocator', (config) => buildPageAllocatorService(config), {
  extraFlags: CALLS.map((c) => `${c}-address`),
});
