// Shared Jest settings: ts-jest transpiles only (isolatedModules); the typecheck target does the type-checking.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['**/?(*.)+(spec|test).ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testEnvironmentOptions: { customExportConditions: ['@pagemesh/source', 'node', 'require', 'default'] },
};
