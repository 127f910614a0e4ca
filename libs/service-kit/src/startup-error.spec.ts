import { ConfigError } from './service-config';
import { bindFailure, formatStartupFailure, StartupError } from './startup-error';

describe('formatStartupFailure', () => {
  it('prints a listen failure as one line', () => {
    const err = new StartupError('address already in use', '127.0.0.1:50051');
    expect(formatStartupFailure('page-allocator', err)).toBe(
      'page-allocator: cannot listen on 127.0.0.1:50051: address already in use',
    );
  });

  it('prints a bad flag as one line', () => {
    expect(formatStartupFailure('mmu', new ConfigError('--port', 'x', 'expected an integer 0..65535'))).toBe(
      'mmu: invalid --port "x": expected an integer 0..65535',
    );
  });

  it('keeps only the first line of anything else', () => {
    const err = new Error('proto file missing\n    at load (x.ts:1:1)');
    expect(formatStartupFailure('mmu', err)).toBe('mmu: cannot start: proto file missing');
    expect(formatStartupFailure('mmu', 'odd')).toBe('mmu: cannot start: odd');
  });
});

describe('bindFailure', () => {
  it('reads the errno from a Node socket error', () => {
    const err = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:80'), {
      code: 'EADDRINUSE',
    });
    expect(bindFailure('127.0.0.1:80', err).message).toBe(
      'cannot listen on 127.0.0.1:80: address already in use',
    );
  });

  it('reads the errno from grpc-js’s summary of bind errors', () => {
    const err = new Error(
      'No address added out of total 1 resolved errors: [listen EACCES: permission denied 0.0.0.0:80]',
    );
    expect(bindFailure('0.0.0.0:80', err).reason).toBe('permission denied');
  });

  it('falls back to the first line of an unknown error', () => {
    expect(bindFailure('h:1', new Error('strange\nmore')).message).toBe('cannot listen on h:1: strange');
  });
});
