import { dirname, join } from 'node:path';
import {
  credentials,
  loadPackageDefinition,
  type ClientDuplexStream,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

type ReflectionStub = InstanceType<ServiceClientConstructor> & {
  ServerReflectionInfo(): ClientDuplexStream<
    object,
    { listServicesResponse?: { service: { name: string }[] } }
  >;
};

const reflectionProto = join(
  dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

/** Asks grpc.reflection.v1.ServerReflection at `address` to list its services, as grpcurl does. */
export async function listServicesByReflection(address: string): Promise<string[]> {
  const Reflection = (
    loadPackageDefinition(loadSync(reflectionProto)) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: ServiceClientConstructor } } };
    }
  ).grpc.reflection.v1.ServerReflection;
  const client = new Reflection(address, credentials.createInsecure()) as ReflectionStub;
  try {
    const call = client.ServerReflectionInfo();
    const names = new Promise<string[]>((resolve, reject) => {
      const found: string[] = [];
      call.on('data', (r: { listServicesResponse?: { service: { name: string }[] } }) =>
        found.push(...(r.listServicesResponse?.service.map((s) => s.name) ?? [])),
      );
      call.on('error', reject);
      call.on('end', () => resolve(found));
    });
    call.write({ listServices: '' });
    call.end();
    return await names;
  } finally {
    client.close();
  }
}
