module.exports = {
  displayName: 'vma-manager-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
