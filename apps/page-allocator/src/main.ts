import { runServiceMain } from '@pagemesh/service-kit';
import { buildPageAllocatorService, FLAGS } from './service';

void runServiceMain('page-allocator', (config) => buildPageAllocatorService(config), { extraFlags: FLAGS });
