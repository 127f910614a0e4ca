import { runServiceMain } from '@pagemesh/service-kit';
import { buildOrchestratorService, CALLS } from './service';

void runServiceMain('orchestrator', (config) => buildOrchestratorService(config), {
  extraFlags: CALLS.map((c) => `${c}-address`),
});
