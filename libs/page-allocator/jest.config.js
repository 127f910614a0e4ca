module.exports = {
  displayName: 'page-allocator',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
