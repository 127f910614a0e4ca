import { runServiceMain } from '@pagemesh/service-kit';
import { buildDeviceDriversService, CALLS } from './service';

void runServiceMain('device-drivers', (config) => buildDeviceDriversService(config), {
  extraFlags: CALLS.map((c) => `${c}-address`),
});
