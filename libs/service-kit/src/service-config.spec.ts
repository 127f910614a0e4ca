import { ConfigError, DEFAULT_MAX_MESSAGE_BYTES, envVarName, parseServiceConfig } from './service-config';

function parse(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return parseServiceConfig('page-allocator', { argv, env });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseServiceConfig', () => {
  it('defaults to 127.0.0.1, an ephemeral port and ephemeral metrics', () => {
    const config = parse([]);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      metricsPort: 0,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    });
    expect(config.shutdownTimeoutMs).toBeGreaterThan(0);
  });

  it('reads flags in both --flag value and --flag=value forms', () => {
    const config = parse([
      '--host',
      '0.0.0.0',
      '--port=50051',
      '--metrics-port',
      '9464',
      '--log-level=debug',
      '--shutdown-timeout-ms',
      '250',
      '--max-message-bytes',
      '1048576',
    ]);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 50051,
      metricsPort: 9464,
      logLevel: 'debug',
      shutdownTimeoutMs: 250,
      maxMessageBytes: 1048576,
    });
  });

  it('reads PAGEMESH_<SERVICE>_<FLAG> from the environment, flags winning', () => {
    expect(envVarName('page-allocator', 'metrics-port')).toBe('PAGEMESH_PAGE_ALLOCATOR_METRICS_PORT');
    const env = { PAGEMESH_PAGE_ALLOCATOR_PORT: '6000', PAGEMESH_PAGE_ALLOCATOR_HOST: '::1' };
    expect(parse([], env)).toMatchObject({ port: 6000, host: '::1' });
    expect(parse(['--port', '7000'], env)).toMatchObject({ port: 7000, host: '::1' });
  });

  it('turns metrics off with -1 or off', () => {
    expect(parse(['--metrics-port', 'off']).metricsPort).toBeNull();
    expect(parse(['--metrics-port=-1']).metricsPort).toBeNull();
    expect(parse([], { PAGEMESH_PAGE_ALLOCATOR_METRICS_PORT: 'off' }).metricsPort).toBeNull();
  });

  it('uses the defaults it is given', () => {
    const config = parseServiceConfig('mmu', {
      argv: [],
      env: {},
      defaults: { port: 50052, metricsPort: null },
    });
    expect(config).toMatchObject({ port: 50052, metricsPort: null });
  });

  it('returns the service’s extra flags', () => {
    const config = parseServiceConfig('mmu', {
      argv: ['--page-allocator-address', '127.0.0.1:50051'],
      env: { PAGEMESH_MMU_TLB_ENTRIES: '64' },
      extraFlags: ['page-allocator-address', 'tlb-entries'],
    });
    expect(config.extra).toEqual({ 'page-allocator-address': '127.0.0.1:50051', 'tlb-entries': '64' });
  });

  it.each([
    [['--port', 'fifty'], '--port', 'invalid --port "fifty": expected an integer 0..65535'],
    [['--port', '65536'], '--port', 'invalid --port "65536": expected an integer 0..65535'],
    [['--port', '1.5'], '--port', 'invalid --port "1.5": expected an integer 0..65535'],
    [
      ['--metrics-port', '-2'],
      '--metrics-port',
      'invalid --metrics-port "-2": expected a port 0..65535, or -1 / off for no metrics',
    ],
    [
      ['--log-level', 'loud'],
      '--log-level',
      'invalid --log-level "loud": expected one of fatal, error, warn, info, debug, trace, silent',
    ],
    [
      ['--shutdown-timeout-ms', '-1'],
      '--shutdown-timeout-ms',
      'invalid --shutdown-timeout-ms "-1": expected an integer 0..2147483647',
    ],
    [
      ['--max-message-bytes', '0'],
      '--max-message-bytes',
      'invalid --max-message-bytes "0": expected an integer 1..2147483647',
    ],
    [['--host', ''], '--host', 'invalid --host "": expected a host name or IP address'],
    [['--prot', '5'], '--prot', 'unknown flag --prot'],
    [['--port'], '--port', 'missing value for --port'],
    [['stray'], 'argument', 'unexpected argument "stray"'],
  ])('rejects %j with a ConfigError naming the flag and value', (argv, source, message) => {
    const err = configError(() => parse(argv));
    expect(err.source).toBe(source);
    expect(err.message).toBe(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    const err = configError(() => parse([], { PAGEMESH_PAGE_ALLOCATOR_PORT: 'x' }));
    expect(err.message).toBe('invalid PAGEMESH_PAGE_ALLOCATOR_PORT "x": expected an integer 0..65535');
  });
});
