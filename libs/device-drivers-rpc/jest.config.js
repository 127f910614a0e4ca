module.exports = {
  displayName: 'device-drivers-rpc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
