module.exports = {
  displayName: 'mmu-rpc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
