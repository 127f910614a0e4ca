import { runServiceMain } from '@pagemesh/service-kit';
import { buildMmuService, FLAGS } from './service';

void runServiceMain('mmu', (config) => buildMmuService(config), { extraFlags: FLAGS });
