module.exports = {
  displayName: 'mmu-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
