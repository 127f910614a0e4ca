module.exports = {
  displayName: 'uapi',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
