import { join } from 'node:path';
import {
  loadPackageDefinition,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type Metadata,
  type ServiceError,
  type GrpcObject,
  type ServiceClientConstructor,
  type ServiceDefinition,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DomainError } from '../domain-errors';

/** The kit's test fixture: `pagemesh.testing.v1.EchoService` loaded with proto-loader. */
export const ECHO_PROTO = join(__dirname, 'echo.proto');
export const ECHO_SERVICE_NAME = 'pagemesh.testing.v1.EchoService';

export interface EchoRequest {
  text: string;
  count: number;
}
export interface EchoResponse {
  text: string;
  index: number;
}

const packageDefinition = loadSync(ECHO_PROTO, { defaults: true });
const loaded = loadPackageDefinition(packageDefinition) as unknown as {
  pagemesh: { testing: { v1: GrpcObject & { EchoService: ServiceClientConstructor } } };
};

export const EchoClient = loaded.pagemesh.testing.v1.EchoService;

/** The dynamic EchoService client with its methods typed (proto-loader clients are untyped). */
export type EchoStub = Client & {
  Echo(
    request: Partial<EchoRequest>,
    metadata: Metadata,
    options: object,
    callback: (error: ServiceError | null, response: EchoResponse) => void,
  ): void;
  EchoStream(request: Partial<EchoRequest>, options?: object): ClientReadableStream<EchoResponse>;
  EchoChat(options?: object): ClientDuplexStream<EchoRequest, EchoResponse>;
};
export const echoDefinition: ServiceDefinition = EchoClient.service;

/**
 * An error declared the way a domain library would, without importing the kit: only its
 * `kind`, `field` and `value` properties make the kit map it.
 */
class UnknownWordError extends Error {
  readonly kind = 'not-found';
  readonly field = 'text';
  constructor(readonly value: string) {
    super(`no such word: text ${JSON.stringify(value)}`);
  }
}

let openGate: () => void = () => undefined;
let gate = new Promise<void>((resolve) => (openGate = resolve));

/** Lets every Echo('gate') call answer; later 'gate' calls wait for the next release. */
export function releaseEchoGate(): void {
  openGate();
  gate = new Promise<void>((resolve) => (openGate = resolve));
}

/**
 * Echo's behaviour by input text: '' → INVALID_ARGUMENT (field `text`); 'boom' → an unexpected
 * TypeError (INTERNAL); 'missing' → a duck-typed not-found error, rejected asynchronously;
 * 'hang' → never answers (deadline tests); 'gate' → answers once {@link releaseEchoGate} is called
 * (shutdown tests); anything else is echoed.
 */
export const echoImplementation = {
  Echo(
    call: ServerUnaryCall<EchoRequest, EchoResponse>,
    callback: (err: unknown, res?: EchoResponse) => void,
  ) {
    const { text } = call.request;
    if (text === '') {
      throw new DomainError('invalid-argument', 'text must not be empty: got ""', {
        field: 'text',
        value: text,
      });
    }
    if (text === 'boom') throw new TypeError('kaboom\n    at secret (internal.ts:1:1)');
    if (text === 'missing') return Promise.reject(new UnknownWordError(text));
    if (text === 'hang') return undefined;
    if (text === 'gate') return gate.then(() => ({ text, index: 0 }));
    callback(null, { text, index: 0 });
    return undefined;
  },

  async EchoStream(call: ServerWritableStream<EchoRequest, EchoResponse>): Promise<void> {
    const { text, count } = call.request;
    if (count === 0)
      throw new DomainError('invalid-argument', 'count must be at least 1: got 0', {
        field: 'count',
        value: 0,
      });
    for (let index = 0; index < count; index++) {
      if (!call.write({ text, index })) await new Promise((resolve) => call.once('drain', resolve));
    }
  },

  async EchoChat(call: ServerDuplexStream<EchoRequest, EchoResponse>): Promise<void> {
    let index = 0;
    for await (const request of call as AsyncIterable<EchoRequest>) {
      if (request.text === '')
        throw new DomainError('invalid-argument', 'text must not be empty', { field: 'text', value: '' });
      call.write({ text: request.text, index: index++ });
    }
  },
};
