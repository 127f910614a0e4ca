import { runServiceMain } from '@pagemesh/service-kit';
import { buildVmaManagerService, FLAGS } from './service';

void runServiceMain('vma-manager', (config) => buildVmaManagerService(config), { extraFlags: FLAGS });
