import { EventEmitter } from 'node:events';
import { checkHealth } from './health-client';
import { runServiceMain, type RunServiceMainOptions } from './run-service-main';
import type { ServiceConfig } from './service-config';
import type { StartServiceOptions } from './start-service';
import { ECHO_PROTO, echoDefinition, echoImplementation } from './testing/echo-service';

function buildEcho(config: ServiceConfig): StartServiceOptions {
  return {
    name: 'echo',
    protoFiles: [ECHO_PROTO],
    services: [{ definition: echoDefinition, implementation: echoImplementation }],
    config,
  };
}

/** runServiceMain with process.exit, stderr and signals replaced by things a test can watch. */
function harness(argv: string[]) {
  const stderr: string[] = [];
  const signals = new EventEmitter();
  let onExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (onExit = resolve));
  const options: RunServiceMainOptions = {
    argv,
    env: {},
    exit: (code) => onExit(code),
    writeError: (line) => stderr.push(line),
    signals,
  };
  return { stderr, signals, exited, options };
}

function started<T>(service: T | undefined): T {
  if (service === undefined) throw new Error('expected the service to start');
  return service;
}

describe('runServiceMain', () => {
  it('starts the service from flags and stops it on SIGTERM with exit code 0', async () => {
    const h = harness(['--log-level', 'silent', '--metrics-port', 'off']);
    const service = started(await runServiceMain('echo', buildEcho, h.options));
    expect(await checkHealth(service.address)).toBe('SERVING');

    h.signals.emit('SIGTERM');
    expect(await h.exited).toBe(0);
    expect(await checkHealth(service.address, '', 500)).toBe('UNREACHABLE');
    expect(h.stderr).toEqual([]);
  });

  it('exits 1 at once on a second signal', async () => {
    const h = harness(['--log-level', 'silent', '--metrics-port', 'off']);
    const service = started(await runServiceMain('echo', buildEcho, h.options));
    h.signals.emit('SIGINT');
    h.signals.emit('SIGINT');
    expect(await h.exited).toBe(1);
    await service.shutdown();
  });

  it('prints one line and exits 1 on a bad flag', async () => {
    const h = harness(['--port', 'fifty']);
    expect(await runServiceMain('page-allocator', buildEcho, h.options)).toBeUndefined();
    expect(await h.exited).toBe(1);
    expect(h.stderr).toEqual(['page-allocator: invalid --port "fifty": expected an integer 0..65535']);
  });

  it('prints one line and exits 1 on an unknown flag', async () => {
    const h = harness(['--prot', '5']);
    await runServiceMain('page-allocator', buildEcho, h.options);
    expect(await h.exited).toBe(1);
    expect(h.stderr).toEqual(['page-allocator: unknown flag --prot']);
  });

  it('prints one line and exits 1 when the port is taken', async () => {
    const first = harness(['--log-level', 'silent', '--metrics-port', 'off']);
    const running = started(await runServiceMain('echo', buildEcho, first.options));
    try {
      const h = harness(['--log-level', 'silent', '--metrics-port', 'off', '--port', String(running.port)]);
      await runServiceMain('page-allocator', buildEcho, h.options);
      expect(await h.exited).toBe(1);
      expect(h.stderr).toEqual([
        `page-allocator: cannot listen on 127.0.0.1:${running.port}: address already in use`,
      ]);
    } finally {
      await running.shutdown();
    }
  });
});
