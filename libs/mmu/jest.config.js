module.exports = {
  displayName: 'mmu',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
