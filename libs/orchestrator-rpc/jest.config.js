module.exports = {
  displayName: 'orchestrator-rpc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
