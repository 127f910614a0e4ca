module.exports = {
  displayName: 'device-drivers',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
