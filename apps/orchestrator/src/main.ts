import { runServiceMain } from '@pagemesh/service-kit';
import { buildOrchestratorService, FLAGS } from './service';

void runServiceMain('orchestrator', (config) => buildOrchestratorService(config), { extraFlags: FLAGS });
