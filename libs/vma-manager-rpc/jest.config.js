module.exports = {
  displayName: 'vma-manager-rpc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
