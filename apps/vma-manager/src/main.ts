import { runServiceMain } from '@pagemesh/service-kit';
import { buildVmaManagerService, CALLS } from './service';

void runServiceMain('vma-manager', (config) => buildVmaManagerService(config), {
  extraFlags: CALLS.map((c) => `${c}-address`),
});
