module.exports = {
  displayName: 'device-drivers-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
