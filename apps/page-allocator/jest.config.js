module.exports = {
  displayName: 'page-allocator-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
