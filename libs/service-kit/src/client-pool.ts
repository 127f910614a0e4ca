import {
  Channel,
  credentials,
  InterceptingCall,
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientOptions,
  type Interceptor,
} from '@grpc/grpc-js';
import { outgoingCallInterceptor } from './boundary/outgoing-call-interceptor';
import { defaultCaller, outgoingCallsOf, type CallerFigures } from './boundary/outgoing-calls';
import { DEFAULT_MAX_MESSAGE_BYTES } from './service-config';

/** Deadline for a call that sets none. grpc-js has no default, so a stuck server would hang the caller forever. */
export const DEFAULT_DEADLINE_MS = 10_000;

/**
 * Client keepalive: ping after 30 s without traffic, give up after 10 s. At least 10 s between
 * pings, or a server's ping policy may answer with GOAWAY (docs: stack.md section 3).
 */
const CLIENT_KEEPALIVE_TIME_MS = 30_000;
const CLIENT_KEEPALIVE_TIMEOUT_MS = 10_000;

/** Call options whose deadline is `ms` from now. */
export function withDeadline(ms: number = DEFAULT_DEADLINE_MS, options: CallOptions = {}): CallOptions {
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new RangeError(
      `withDeadline: 'ms' must be a positive number of milliseconds: current value is ${ms}`,
    );
  }
  return { ...options, deadline: Date.now() + ms };
}

/** A client interceptor that gives every call without a deadline one `ms` from its start. */
export function defaultDeadlineInterceptor(ms: number = DEFAULT_DEADLINE_MS): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(
      nextCall(options.deadline === undefined ? { ...options, deadline: Date.now() + ms } : options),
    );
}

/** Constructor of a generated (ts-proto or proto-loader) client class. */
export type ClientConstructor<C extends Client> = new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => C;

export interface ClientPoolOptions {
  /** Deadline given to calls that set none. */
  defaultDeadlineMs?: number;
  maxMessageBytes?: number;
  /** Extra channel options, merged over the pool's. */
  channelOptions?: ChannelOptions;
  /**
   * The service whose calls these are, as the boundary figures name it (`vma-manager`); by
   * default the service this process runs (runServiceMain sets it), else anonymous.
   */
  caller?: string;
  /**
   * The table to record into instead of the process-wide one of `caller` (tests that run several
   * instances of a service in one process give each its own, and the same to its startService).
   */
  outgoingCalls?: CallerFigures;
}

/**
 * One channel per target, shared by every client of that target; one client per target and
 * client class. Creating a channel costs a connection and a handshake, so callers ask the pool
 * rather than constructing clients. Every call made through a pooled client has a deadline, and
 * is counted and timed in the process-wide registry of outgoing calls under the pool's caller
 * (boundary/outgoing-call-interceptor.ts), which the service serves on BoundaryService.
 */
export class ClientPool {
  private readonly channels = new Map<string, Channel>();
  private readonly clients = new Map<string, Map<ClientConstructor<Client>, Client>>();
  private readonly channelOptions: ChannelOptions;
  private readonly interceptors: Interceptor[];
  private closed = false;
  /** The caller the pool's calls are recorded under. */
  readonly caller: string;

  constructor(options: ClientPoolOptions = {}) {
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.channelOptions = {
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc.keepalive_time_ms': CLIENT_KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': CLIENT_KEEPALIVE_TIMEOUT_MS,
      ...options.channelOptions,
    };
    const figures = options.outgoingCalls ?? outgoingCallsOf(options.caller ?? defaultCaller());
    this.caller = figures.caller;
    this.interceptors = [
      defaultDeadlineInterceptor(options.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS),
      outgoingCallInterceptor(figures),
    ];
  }

  /** The one channel to `target` (`host:port`), created on first use. */
  channelFor(target: string): Channel {
    this.assertOpen(target);
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new Channel(target, credentials.createInsecure(), this.channelOptions);
      this.channels.set(target, channel);
    }
    return channel;
  }

  /** The client of class `ctor` for `target`, over the target's one channel. */
  client<C extends Client>(target: string, ctor: ClientConstructor<C>): C {
    this.assertOpen(target);
    let byCtor = this.clients.get(target);
    if (!byCtor) {
      byCtor = new Map();
      this.clients.set(target, byCtor);
    }
    let client = byCtor.get(ctor as ClientConstructor<Client>) as C | undefined;
    if (!client) {
      client = new ctor(target, credentials.createInsecure(), {
        ...this.channelOptions,
        channelOverride: this.channelFor(target),
        interceptors: this.interceptors,
      });
      byCtor.set(ctor as ClientConstructor<Client>, client);
    }
    return client;
  }

  /** Closes every channel; calls in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    this.closed = true;
    for (const channel of this.channels.values()) channel.close();
    this.channels.clear();
    this.clients.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private assertOpen(target: string): void {
    if (this.closed) throw new Error(`ClientPool is closed: cannot reach ${target}`);
  }
}
