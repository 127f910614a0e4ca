module.exports = {
  displayName: 'page-allocator-rpc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
