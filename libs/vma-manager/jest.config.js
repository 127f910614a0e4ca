module.exports = {
  displayName: 'vma-manager',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
