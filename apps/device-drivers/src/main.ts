import { runServiceMain } from '@pagemesh/service-kit';
import { buildDeviceDriversService, FLAGS } from './service';

void runServiceMain('device-drivers', (config) => buildDeviceDriversService(config), { extraFlags: FLAGS });
