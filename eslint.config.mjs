import nx from '@nx/eslint-plugin';

/**
 * Layering, enforced by @nx/enforce-module-boundaries:
 *
 *   type:*   what a project is. Domain libraries (the kernel logic) import no gRPC and no
 *            generated code; only rpc adapters, the service kit, apps and the CLI touch gRPC.
 *   scope:*  which subsystem it belongs to. Calls between subsystems follow the service DAG
 *            orchestrator → vma-manager → device-drivers → mmu → page-allocator.
 */
const downstream = {
  'scope:orchestrator': ['scope:vma-manager', 'scope:device-drivers', 'scope:mmu', 'scope:page-allocator'],
  'scope:vma-manager': ['scope:device-drivers', 'scope:mmu', 'scope:page-allocator'],
  'scope:device-drivers': ['scope:mmu', 'scope:page-allocator'],
  'scope:mmu': ['scope:page-allocator'],
  'scope:page-allocator': [],
};

const grpcPackages = ['@grpc/*', 'grpc-health-check', '@bufbuild/*', 'pino', 'prom-client'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/node_modules', '**/src/gen/**', 'tmp', 'coverage'],
  },
  {
    files: ['**/src/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:proto', onlyDependOnLibsWithTags: ['type:proto'] },
            { sourceTag: 'type:abi', onlyDependOnLibsWithTags: ['type:abi'] },
            {
              sourceTag: 'type:domain',
              onlyDependOnLibsWithTags: ['type:domain', 'type:abi'],
              bannedExternalImports: grpcPackages,
            },
            { sourceTag: 'type:kit', onlyDependOnLibsWithTags: ['type:kit', 'type:proto', 'type:abi'] },
            {
              sourceTag: 'type:rpc',
              onlyDependOnLibsWithTags: ['type:rpc', 'type:domain', 'type:proto', 'type:kit', 'type:abi'],
            },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:rpc', 'type:domain', 'type:proto', 'type:kit', 'type:abi'],
            },
            {
              sourceTag: 'type:cli',
              onlyDependOnLibsWithTags: ['type:rpc', 'type:domain', 'type:proto', 'type:kit', 'type:abi'],
            },
            ...Object.entries(downstream).map(([scope, below]) => ({
              sourceTag: scope,
              onlyDependOnLibsWithTags: [scope, ...below, 'scope:shared'],
            })),
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
