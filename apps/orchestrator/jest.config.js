module.exports = {
  displayName: 'orchestrator-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
