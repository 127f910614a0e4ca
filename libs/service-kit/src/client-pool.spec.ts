import { ClientPool, withDeadline } from './client-pool';
import { EchoClient } from './testing/echo-service';

describe('ClientPool', () => {
  it('keeps one client per target and class, and one channel per target', () => {
    using pool = new ClientPool();
    const a = pool.client('127.0.0.1:1', EchoClient);
    expect(pool.client('127.0.0.1:1', EchoClient)).toBe(a);
    const b = pool.client('127.0.0.1:2', EchoClient);
    expect(b).not.toBe(a);
    expect(a.getChannel()).toBe(pool.channelFor('127.0.0.1:1'));
    expect(b.getChannel()).toBe(pool.channelFor('127.0.0.1:2'));
    expect(pool.channelFor('127.0.0.1:1')).not.toBe(pool.channelFor('127.0.0.1:2'));
  });

  it('refuses new clients once closed', () => {
    const pool = new ClientPool();
    pool.close();
    expect(() => pool.client('127.0.0.1:1', EchoClient)).toThrow(
      'ClientPool is closed: cannot reach 127.0.0.1:1',
    );
  });
});

describe('withDeadline', () => {
  it('sets a deadline ms from now and keeps other options', () => {
    const before = Date.now();
    const options = withDeadline(250, { propagate_flags: 1 });
    expect(options.propagate_flags).toBe(1);
    expect(options.deadline).toBeGreaterThanOrEqual(before + 250);
    expect(options.deadline).toBeLessThanOrEqual(Date.now() + 250);
  });

  it('defaults to ten seconds and rejects a non-positive deadline', () => {
    expect(withDeadline().deadline).toBeGreaterThan(Date.now() + 9_000);
    expect(() => withDeadline(0)).toThrow(
      "withDeadline: 'ms' must be a positive number of milliseconds: current value is 0",
    );
  });
});
